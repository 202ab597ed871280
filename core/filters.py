"""The accident filter shared by every page: validation, SQL, array masks, URL parameters.

A filter is a frozen, hashable value, so pages can use it as a cache key and a
shared link can be turned back into exactly the same filter. Its class is
built from the field table of :mod:`core.filter_fields` by :class:`FilterSpec`,
which derives every use of a field from its entry: the ``WHERE`` clause over
the ``accidents`` table of :mod:`core.store` (values always as parameters),
the mask over the risk map's arrays, the link's parameters and the checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, make_dataclass, replace
from typing import Any

import numpy as np

from core import filter_fields
from core.filter_fields import (
    FIELDS,
    FIRST_YEAR,
    LAST_YEAR,
    OUTCOME_LABELS,
    FieldKind,
    FilterField,
    MaskSource,
    Range,
)
from core.formatting import format_quoted

__all__ = ["FIRST_YEAR", "LAST_YEAR", "OUTCOME_LABELS", "AccidentFilter", "FilterError", "FilterSpec", "read_params"]


class FilterError(ValueError):
    """A filter value is not valid; the message names the field."""


@dataclass(frozen=True, eq=False)
class FilterSpec:
    """Every operation on a filter, derived from a table of :class:`~core.filter_fields.FilterField`.

    ``filter_class`` is the frozen dataclass with one attribute per field
    (default: no restriction); :data:`AccidentFilter` is the one of
    :data:`core.filter_fields.FIELDS`.
    """

    fields: tuple[FilterField, ...]
    by_name: dict[str, FilterField] = field(init=False, repr=False)
    filter_class: type = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {f.name: f for f in self.fields})
        namespace = {"spec": self, "__doc__": _class_doc(self.fields), "__post_init__": _check,
                     "with_changes": _with_changes, "department_codes": _department_codes, "to_sql": _to_sql,
                     "to_params": _to_params, "from_params": classmethod(_from_params)}
        cls = make_dataclass("AccidentFilter", [(f.name, Any, f.kind.default) for f in self.fields],
                             namespace=namespace, frozen=True)
        cls.__module__ = __name__
        object.__setattr__(self, "filter_class", cls)

    def restricting(self, accident_filter: Any) -> list[tuple[FilterField, Any]]:
        """The fields of ``accident_filter`` that restrict (not at their default), with their values."""
        return [(f, value) for f in self.fields
                if (value := getattr(accident_filter, f.name)) != f.kind.default]

    def validate(self, accident_filter: Any) -> None:
        """Raise :class:`FilterError` naming the first invalid field."""
        for f, value in self.restricting(accident_filter):
            problem = f.kind.problem(value)
            if problem:
                raise FilterError(f"{f.name}: {problem}")

    def conditions(self, accident_filter: Any) -> list[tuple[tuple[str, ...], FieldKind, Any]]:
        """What ``accident_filter`` restricts: (field names, kind, value) in the table's order.

        One condition per restricting field, except the fields given through
        departments (departments, regions), united into one condition on their
        department codes where the first of them stands.
        """
        conditions: list[Any] = []
        united: list[tuple[FilterField, Any]] = []
        for f, value in self.restricting(accident_filter):
            if isinstance(f.kind, filter_fields.Departments):
                if not united:
                    conditions.append(None)  # the united condition's place
                united.append((f, value))
            else:
                conditions.append(((f.name,), f.kind, value))
        if united:
            codes = tuple(sorted({code for f, value in united for code in f.kind.departments(value)}))
            conditions[conditions.index(None)] = (tuple(f.name for f, _ in united), united[0][0].kind, codes)
        return conditions

    def mask(self, accident_filter: Any, source: MaskSource) -> tuple[np.ndarray, Any]:
        """Mask of the accidents of ``source`` matching the conditions that have arrays, and the filter of the rest.

        The rest (fields about people or vehicles, or whose column ``source``
        lacks) is a filter of the same class to evaluate on the store; it
        restricts nothing when every condition had its arrays.
        """
        matched = np.ones(len(next(iter(source.columns.values()))), dtype=bool)
        rest: dict[str, Any] = {}
        for names, kind, value in self.conditions(accident_filter):
            part = kind.mask(value, source)
            if part is None:
                rest.update((name, getattr(accident_filter, name)) for name in names)
            else:
                matched &= part
        return matched, self.filter_class(**rest)


def _class_doc(fields: tuple[FilterField, ...]) -> str:
    names = "\n".join(f"    ``{f.name}``: {f.label}" for f in fields)
    return ("Which accidents to count; every field at its default means no restriction.\n\n"
            f"Fields (see :data:`core.filter_fields.FIELDS`):\n\n{names}\n")


def _check(self: Any) -> None:
    self.spec.validate(self)


def _with_changes(self: Any, **changes: object) -> Any:
    """A copy with some fields changed (validated)."""
    return replace(self, **changes)


def _department_codes(self: Any) -> tuple[str, ...]:
    """Departments selected directly or through a region, sorted; () when unrestricted."""
    return next((value for _, kind, value in self.spec.conditions(self)
                 if isinstance(kind, filter_fields.Departments)), ())


def _to_sql(self: Any, *, alias: str = "", bits: bool = False) -> tuple[str, list[object]]:
    """``WHERE`` clause (without the keyword) and its parameters.

    Fields given through departments (departments, regions) are united, the
    others combined with ``AND``. With ``bits``, conditions on the accident's
    people and vehicles test the accident-level mask columns of the explorer
    table (:mod:`core.store`) instead of subqueries.
    """
    prefix = f"{alias}." if alias else ""
    clauses: list[str] = []
    params: list[object] = []
    for _, kind, value in self.spec.conditions(self):
        clause, values = kind.sql(value, prefix, bits=bits)
        clauses.append(clause)
        params += values
    return (" AND ".join(clauses) or "true"), params


def _to_params(self: Any) -> dict[str, str]:
    """URL query parameters carrying this filter (only the fields that restrict)."""
    return {f.name: f.kind.to_text(value) for f, value in self.spec.restricting(self)}


def _from_params(cls: Any, params: Mapping[str, str | list[str]]) -> Any:
    """Rebuild a filter from URL query parameters; unknown keys are ignored.

    Raises
    ------
    FilterError
        When a value is malformed, naming the parameter.
    """
    values: dict[str, object] = {}
    for f in cls.spec.fields:
        if f.name in params:
            text = _last(params[f.name])
            try:
                values[f.name] = f.kind.parse(text)
            except ValueError as error:
                raise FilterError(f"{f.name}: cannot read {text!r} ({error})") from error
    return cls(**values)


def _last(value: str | list[str]) -> str:
    return str(value[-1] if isinstance(value, list) else value)


SPEC: FilterSpec = FilterSpec(FIELDS)
#: The filter of every page (a frozen dataclass built from :data:`core.filter_fields.FIELDS`).
#:
#: >>> f = AccidentFilter(years=(2019, 2020), atm=(2, 3), hours=(22, 4))
#: >>> AccidentFilter.from_params(f.to_params()) == f
#: True
AccidentFilter: type = SPEC.filter_class
#: French names of the fields, as the filter form labels them: for messages about a link.
FIELD_LABELS: dict[str, str] = {f.name: f.label for f in FIELDS}


def validate(accident_filter: Any) -> None:
    """Raise :class:`FilterError` naming the first invalid field of ``accident_filter``."""
    accident_filter.spec.validate(accident_filter)


# --------------------------------------------------------------------------- #
# Reading a link that may be wrong
# --------------------------------------------------------------------------- #


def _read_range(f: FilterField, text: str, bounds: tuple[int, int]) -> tuple[tuple[int, int] | None, str | None]:
    try:
        first, last = (int(v) for v in text.split("-"))
    except ValueError:
        return None, f"{f.label} : {format_quoted(text)} illisible (attendu : deux nombres, comme 2016-2020), ignoré."
    low, high = bounds
    clamped = (min(max(first, low), high), min(max(last, low), high))
    if not f.kind.wraps:  # hours may wrap midnight (22-4), years may not
        clamped = (min(clamped), max(clamped))
    if clamped == (first, last):
        return clamped, None
    kept = f"{clamped[0]}–{clamped[1]}"
    return clamped, f"{f.label} : {format_quoted(text)} hors de {low}–{high} ou inversé, ramené à {kept}."


def _read_items(f: FilterField, text: str) -> tuple[tuple, str | None]:
    kept, dropped = [], []
    for item in (v for v in text.split(",") if v):
        try:
            value = item if f.kind.text_items else int(item)
        except ValueError:
            dropped.append(item)
            continue
        (dropped if f.kind.problem((value,)) else kept).append(value)
    note = None
    if dropped:
        values = format_quoted(", ".join(str(v) for v in dropped))
        plural = "s" if len(dropped) > 1 else ""
        note = f"{f.label} : {values} inconnu{plural}, ignoré{plural}."
    return tuple(dict.fromkeys(kept)), note


def _read_one(f: FilterField, text: str, years: tuple[int, int]) -> tuple[object, str | None]:
    if isinstance(f.kind, Range):
        return _read_range(f, text, years if f.name == "years" else f.kind.bounds)
    if f.kind.widget == "radio":
        if f.kind.problem(text) is None:
            return text, None
        return None, f"{f.label} : {format_quoted(text)} inconnue, ignorée."
    return _read_items(f, text)


def read_params(
    params: Mapping[str, str | list[str]], *, years: tuple[int, int] = (FIRST_YEAR, LAST_YEAR),
    spec: FilterSpec | None = None,
) -> tuple[Any, list[str]]:
    """The filter of a link, keeping what is valid, and a French note for each value set aside.

    A shared or hand-typed link never fails: unknown codes are dropped one by one,
    ranges outside their bounds are brought back within them (``years`` gives the
    bounds of the year range, e.g. the years the store holds), and what cannot be
    read is ignored. The notes quote the link's text as it came: show them escaped.
    ``spec`` is the field table's spec (default: the accident filter's).

    Examples
    --------
    >>> f, notes = read_params({"deps": "59,999", "years": "2001-2019"}, years=(2005, 2020))
    >>> f.to_params(), len(notes)
    ({'years': '2005-2019', 'deps': '59'}, 2)
    """
    values: dict[str, object] = {}
    notes: list[str] = []
    spec = spec or SPEC
    for f in spec.fields:
        if f.name in params:
            value, note = _read_one(f, _last(params[f.name]), years)
            if value:
                values[f.name] = value
            if note:
                notes.append(note)
    return spec.filter_class(**values), notes

