"""The accident filter in words, one line per field, for what leaves the app: exports and the planning report.

A file or a printed page outlives the screen it came from, so it carries the
selection it shows in the form's own French words ("Lumière : Nuit sans
éclairage public"), fields left open included as "tous".
"""

from __future__ import annotations

from typing import Any

from core.filter_fields import FIELDS, Range


def _value_text(kind: Any, value: Any) -> str:
    if isinstance(kind, Range):
        first, last = value
        if kind.wraps:
            return f"{first} h – {last} h" if first != last else f"{first} h"
        return f"{first}–{last}" if first != last else str(first)
    if isinstance(value, str):
        return kind.option_label(value)
    return ", ".join(kind.option_label(item) for item in value)


def filter_lines(accident_filter: Any, *, data_years: tuple[int, int], all_fields: bool = False) -> list[str]:
    """``"Label : value"`` for each field that restricts ``accident_filter``, the years always first.

    The years are written even when open (``data_years`` then); with
    ``all_fields``, the open fields are listed too, as ``"Label : tous"``.

    Examples
    --------
    >>> from core.filters import AccidentFilter
    >>> filter_lines(AccidentFilter(lum=(3,), deps=("59",)), data_years=(2005, 2020))
    ['Années : 2005–2020', 'Départements : 59 – Nord', 'Lumière : Nuit sans éclairage public']
    """
    restricting = {f.name: value for f, value in accident_filter.spec.restricting(accident_filter)}
    years = restricting.pop("years", data_years)
    lines = [f"Années : {_value_text(FIELDS[0].kind, years)}"]
    for f in FIELDS[1:]:
        if f.name in restricting:
            lines.append(f"{f.label} : {_value_text(f.kind, restricting[f.name])}")
        elif all_fields:
            lines.append(f"{f.label} : {f.placeholder.lower()}")
    return lines
