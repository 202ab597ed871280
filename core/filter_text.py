"""The accident filter in words, one line per field, for what leaves the app: exports and the planning report.

A file or a printed page outlives the screen it came from, so it carries the
selection it shows in the form's own French words ("Lumière : Nuit sans
éclairage public"), fields left open included as "tous".
"""

from __future__ import annotations

from typing import Any

from core.filter_fields import Range


def span_text(span: tuple[int, int]) -> str:
    """A span of years: ``"2016–2020"``, or one year alone.

    >>> span_text((2016, 2020)), span_text((2020, 2020))
    ('2016–2020', '2020')
    """
    first, last = span
    return f"{first}–{last}" if first != last else str(first)


def _value_text(kind: Any, value: Any) -> str:
    if isinstance(kind, Range):
        first, last = value
        if kind.wraps:
            return f"{first} h – {last} h" if first != last else f"{first} h"
        return span_text(value)
    if isinstance(value, str):
        return kind.option_label(value)
    return ", ".join(kind.option_label(item) for item in value)


def filter_items(accident_filter: Any, *, data_years: tuple[int, int], all_fields: bool = False
                 ) -> list[tuple[str, str]]:
    """``(label, value)`` for each field that restricts ``accident_filter``, the years always first.

    The years are written even when open (``data_years`` then); with
    ``all_fields``, the open fields are listed too, with the form's word for
    "all" (``"tous"``, ``"toutes"``).

    Examples
    --------
    >>> from core.filters import AccidentFilter
    >>> filter_items(AccidentFilter(hours=(22, 4)), data_years=(2005, 2020))
    [('Années', '2005–2020'), ('Heures', '22 h – 4 h')]
    """
    restricting = {f.name: value for f, value in accident_filter.spec.restricting(accident_filter)}
    years = accident_filter.spec.by_name["years"]
    items = [(years.label, _value_text(years.kind, restricting.pop("years", data_years)))]
    for f in accident_filter.spec.fields:
        if f.name in restricting:
            items.append((f.label, _value_text(f.kind, restricting[f.name])))
        elif all_fields and f.name != "years":
            items.append((f.label, f.placeholder.lower()))
    return items


def filter_lines(accident_filter: Any, *, data_years: tuple[int, int], all_fields: bool = False) -> list[str]:
    """``"Label : value"`` for each item of :func:`filter_items`.

    Examples
    --------
    >>> from core.filters import AccidentFilter
    >>> filter_lines(AccidentFilter(lum=(3,), deps=("59",)), data_years=(2005, 2020))
    ['Années : 2005–2020', 'Départements : 59 – Nord', 'Lumière : Nuit sans éclairage public']
    """
    return [f"{label} : {value}" for label, value in filter_items(accident_filter, data_years=data_years,
                                                                   all_fields=all_fields)]
