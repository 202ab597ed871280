"""The accident filter's fields, declared once: what each means in SQL, on arrays, in a link and in the form.

Every page filters the same accidents the same way because everything about a
field is derived from its entry in :data:`FIELDS`: the ``WHERE`` clause over the
store (:meth:`FieldKind.sql`), the boolean mask over the risk map's arrays
(:meth:`FieldKind.mask`), the check of a value (:meth:`FieldKind.problem`), its
text in a link (:meth:`FieldKind.to_text` / :meth:`FieldKind.parse`) and the
widget that asks for it (:attr:`FieldKind.widget`, :meth:`FieldKind.options`).
Adding a filter field is adding one entry; :mod:`core.filters` builds the
filter class from the table.

A field's *kind* holds the behaviour shared by fields of the same shape (a
range, a set of codes, a set of named groups...); the entry gives the column
or the SQL that carries it. Values always travel as SQL parameters; the
column names come from this table only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from core import codebook, places

FIRST_YEAR, LAST_YEAR = 2005, 2030
#: The filter form's words for each outcome (also quoted by messages about a filter).
OUTCOME_LABELS: Final = {"all": "Tous les accidents", "severe": "Tué ou blessé hospitalisé", "fatal": "Mortels"}
#: Road-user groups an accident can involve, and the accidents column that says so.
INVOLVED_COLUMNS: Final = {"pedestrian": "has_pedestrian", "bicycle": "has_bicycle",
                           "two_wheeler": "has_two_wheeler", "hgv": "has_hgv"}
#: Vehicle groups a filter can ask for (keys of codebook.VEHICLE_GROUP_LABELS, pedestrians aside).
VEHICLE_GROUPS: Final = ("bicycle", "two_wheeler", "light_vehicle", "hgv", "other")
#: Age groups: key -> inclusive (min, max) age in the accident's year.
AGE_GROUPS: Final[dict[str, tuple[int, int]]] = {
    "0-17": (0, 17), "18-24": (18, 24), "25-34": (25, 34), "35-49": (35, 49), "50-64": (50, 64),
    "65-74": (65, 74), "75+": (75, 130),
}
#: An unknown code in the uint8 code arrays (the risk map's): no lookup table ever selects it.
UNKNOWN_CODE: Final = 255


def code_lookup(values: Sequence[int]) -> np.ndarray:
    """Table over 0..255: True at ``values``; index a uint8 code array with it (255 = unknown = False).

    Examples
    --------
    >>> code_lookup([2, 3])[np.array([1, 2, 3, 255], dtype=np.uint8)].tolist()
    [False, True, True, False]
    """
    table = np.zeros(UNKNOWN_CODE + 1, dtype=bool)
    table[[v for v in values if 0 <= v < UNKNOWN_CODE]] = True
    return table


@dataclass(frozen=True)
class MaskSource:
    """The arrays a mask is computed on: one entry per accident in each column.

    ``categories[name]`` gives the values that the integers of ``columns[name]``
    number (-1 = unknown), for text columns such as the department.
    """

    columns: Mapping[str, np.ndarray]
    categories: Mapping[str, np.ndarray] = field(default_factory=dict)


class FieldKind:
    """How a field of one shape is checked, written to SQL, masked, linked and asked for.

    Subclasses set :attr:`default`, :attr:`widget` and :attr:`text_items`, and
    implement :meth:`sql` and :meth:`problem`; :meth:`mask` returns None when
    the field has no array of its own (the caller then asks the store).
    """

    default: Any = ()
    widget: str = "multiselect"  # "range", "hour_range", "multiselect" or "radio"
    text_items: bool = False  # items are text (codes like "59"), not whole numbers

    def sql(self, value: Any, prefix: str, *, bits: bool = False) -> tuple[str, list[object]]:
        raise NotImplementedError

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is not valid (English, for developers), or None."""
        raise NotImplementedError

    def mask(self, value: Any, source: MaskSource) -> np.ndarray | None:
        """The accidents of ``source`` that ``value`` keeps; None when ``source`` lacks the field's arrays."""
        return None

    def options(self) -> list[Any]:
        """Every value a form offers, in the order it shows them."""
        return []

    def option_label(self, option: Any) -> str:
        return str(option)

    def to_text(self, value: Any) -> str:
        return ",".join(str(v) for v in value)

    def parse(self, text: str) -> Any:
        """The value written as ``text`` in a link; ValueError when it cannot be read."""
        return tuple(item if self.text_items else int(item) for item in text.split(",") if item)


@dataclass(frozen=True)
class Range(FieldKind):
    """An inclusive (first, last) range of a whole-number column; ``wraps`` allows first > last (22 h–4 h)."""

    column: str
    bounds: tuple[int, int]
    sql_type: str = "TINYINT"
    wraps: bool = False
    default: Any = None

    @property
    def widget(self) -> str:  # type: ignore[override]
        return "hour_range" if self.wraps else "range"

    def sql(self, value: tuple[int, int], prefix: str, *, bits: bool = False) -> tuple[str, list[object]]:
        first, last = value
        column, cast = f"{prefix}{self.column}", f"CAST(? AS {self.sql_type})"
        if first <= last:
            return f"{column} BETWEEN {cast} AND {cast}", [first, last]
        return f"({column} >= {cast} OR {column} <= {cast})", [first, last]

    def mask(self, value: tuple[int, int], source: MaskSource) -> np.ndarray | None:
        if self.column not in source.columns:
            return None
        first, last = value
        column = source.columns[self.column]
        if first <= last:
            inside = (column >= first) & (column <= last)
        else:
            inside = (column >= first) | (column <= last)
        return inside & (column != UNKNOWN_CODE) if column.dtype == np.uint8 else inside

    def problem(self, value: Any) -> str | None:
        if len(value) != 2 or not all(isinstance(v, int) for v in value):
            return f"expected two whole numbers, got {value!r}"
        low, high = self.bounds
        if not all(low <= v <= high for v in value):
            return f"{value} must be within {low}-{high}"
        if not self.wraps and value[0] > value[1]:
            return f"{value} is not an increasing range"
        return None

    def to_text(self, value: tuple[int, int]) -> str:
        return f"{value[0]}-{value[1]}"

    def parse(self, text: str) -> tuple[int, int]:
        first, last = text.split("-")
        return int(first), int(last)


@dataclass(frozen=True)
class Codes(FieldKind):
    """Any of a set of whole-number codes of a ``TINYINT`` column; an unknown code never matches."""

    column: str
    labels: Callable[[], Mapping[int, str]]

    def sql(self, value: tuple[int, ...], prefix: str, *, bits: bool = False) -> tuple[str, list[object]]:
        # Cast to the column's own type: compared with plain integers, DuckDB would cast every row instead and
        # could not push the test into the scan (filtered aggregates about 1.5x slower).
        return f"list_contains(CAST(? AS TINYINT[]), {prefix}{self.column})", [list(value)]

    def mask(self, value: tuple[int, ...], source: MaskSource) -> np.ndarray | None:
        if self.column not in source.columns:
            return None
        return code_lookup(value)[source.columns[self.column]]

    def problem(self, value: tuple[int, ...]) -> str | None:
        unknown = [v for v in value if v not in self.labels()]
        return f"unknown code(s) {unknown}" if unknown else None

    def options(self) -> list[int]:
        return sorted(self.labels())

    def option_label(self, option: int) -> str:
        return self.labels()[option]


@dataclass(frozen=True)
class Departments(FieldKind):
    """Department codes, given directly or through regions; all such fields of a filter are united.

    ``departments`` turns the field's codes into department codes, ``names``
    lists the valid codes with their names (in the form's order). :meth:`sql`
    and :meth:`mask` take the department codes of every such field together
    (``AccidentFilter.department_codes``).
    """

    departments: Callable[[tuple[str, ...]], Sequence[str]]
    names: Callable[[], list[tuple[str, str]]]
    show_code: bool = False
    text_items: bool = True
    column: str = "dep"

    def sql(self, value: tuple[str, ...], prefix: str, *, bits: bool = False) -> tuple[str, list[object]]:
        return f"list_contains(?, {prefix}{self.column})", [sorted(value)]

    def mask(self, value: tuple[str, ...], source: MaskSource) -> np.ndarray | None:
        if self.column not in source.categories:
            return None
        names = source.categories[self.column]
        chosen = np.append(np.isin(names, list(value)), False)  # index -1 (unknown) -> False
        return chosen[source.columns[self.column]]

    def problem(self, value: tuple[str, ...]) -> str | None:
        known = {code for code, _ in self.names()}
        unknown = [v for v in value if v not in known]
        return f"unknown code(s) {unknown}" if unknown else None

    def options(self) -> list[str]:
        return [code for code, _ in self.names()]

    def option_label(self, option: str) -> str:
        name = dict(self.names()).get(option, option)
        return f"{option} – {name}" if self.show_code else name


@dataclass(frozen=True)
class Groups(FieldKind):
    """Any of a set of named groups.

    Each group is tested by a boolean column (``columns``), or, through the
    accident's people or vehicles, by an ``IN`` subquery (``subquery``) and by
    a bit of an accident-level mask column (``bits_column``, bit = position of
    the group in ``groups``) when the table has it.
    """

    groups: tuple[str, ...]
    labels: Callable[[], Mapping[str, str]]
    columns: Mapping[str, str] = field(default_factory=dict)
    subquery: Callable[[tuple[str, ...]], tuple[str, list[object]]] | None = None
    bits_column: str | None = None
    text_items: bool = True

    def sql(self, value: tuple[str, ...], prefix: str, *, bits: bool = False) -> tuple[str, list[object]]:
        if self.columns:
            return "(" + " OR ".join(f"{prefix}{self.columns[g]}" for g in value) + ")", []
        if bits and self.bits_column:
            return f"({self.bits_column} & ?) <> 0", [sum(1 << self.groups.index(g) for g in set(value))]
        query, params = self.subquery(value)  # type: ignore[misc]
        return f"{prefix}acc_id IN ({query})", params

    def mask(self, value: tuple[str, ...], source: MaskSource) -> np.ndarray | None:
        if not self.columns or not all(self.columns[g] in source.columns for g in value):
            return None
        return np.logical_or.reduce([source.columns[self.columns[g]] for g in value])

    def problem(self, value: tuple[str, ...]) -> str | None:
        unknown = [g for g in value if g not in self.groups]
        return f"{unknown} (choose among {', '.join(self.groups)})" if unknown else None

    def options(self) -> list[str]:
        return list(self.groups)

    def option_label(self, option: str) -> str:
        return self.labels().get(option, option)


@dataclass(frozen=True)
class MemberCodes(Codes):
    """Any of a set of codes of the accident's people (``users``) or vehicles, by subquery or mask bit = code."""

    table: str = "users"
    bits_column: str | None = None

    def sql(self, value: tuple[int, ...], prefix: str, *, bits: bool = False) -> tuple[str, list[object]]:
        if bits and self.bits_column:
            return f"({self.bits_column} & ?) <> 0", [sum(1 << code for code in set(value))]
        # Identifiers from the field table only; the codes are a parameter.
        query = f"SELECT acc_id FROM {self.table} WHERE list_contains(?, {self.column})"  # noqa: S608
        return f"{prefix}acc_id IN ({query})", [list(value)]

    def mask(self, value: tuple[int, ...], source: MaskSource) -> None:
        return None


@dataclass(frozen=True)
class Choice(FieldKind):
    """One of a few named choices; each restricting choice is a boolean SQL expression and an array."""

    labels: Mapping[str, str]
    expressions: Mapping[str, tuple[str, str]]  # choice -> (SQL over the accident row, mask column)
    default: Any = "all"
    widget: str = "radio"

    def sql(self, value: str, prefix: str, *, bits: bool = False) -> tuple[str, list[object]]:
        return prefix + self.expressions[value][0], []

    def mask(self, value: str, source: MaskSource) -> np.ndarray | None:
        return source.columns.get(self.expressions[value][1])

    def problem(self, value: Any) -> str | None:
        return None if value in self.labels else f"{value!r} (choose among {', '.join(self.labels)})"

    def options(self) -> list[str]:
        return list(self.labels)

    def option_label(self, option: str) -> str:
        return self.labels[option]

    def to_text(self, value: str) -> str:
        return value

    def parse(self, text: str) -> str:
        return text


@dataclass(frozen=True)
class FilterField:
    """One field of the accident filter: its name (attribute and link key), French label and kind.

    ``extended`` fields are only asked for by the explorer's form;
    ``form_label`` (default ``label``) and ``placeholder`` are the widget's words.
    """

    name: str
    label: str
    kind: FieldKind
    extended: bool = False
    form_label: str | None = None
    placeholder: str = "Tous"


def _vehicles_in(groups: tuple[str, ...]) -> tuple[str, list[object]]:
    catv = sorted(c for c in codebook.valid_codes("catv") if codebook.vehicle_group(c) in groups)
    return "SELECT acc_id FROM vehicles WHERE list_contains(?, catv)", [catv]


def _people_aged(groups: tuple[str, ...]) -> tuple[str, list[object]]:
    ranges = [AGE_GROUPS[g] for g in groups]
    ages = " OR ".join("(age BETWEEN ? AND ?)" for _ in ranges)
    ages_query = "SELECT acc_id, CAST(acc_id // 100000000 AS INTEGER) - birth_year AS age FROM users"
    query = f"SELECT u.acc_id FROM ({ages_query}) u WHERE {ages}"  # noqa: S608 -- only "?" placeholders joined
    return query, [bound for pair in ranges for bound in pair]


def _code_field(name: str, label: str, *, extended: bool = False) -> FilterField:
    return FilterField(name, label, Codes(name, lambda: codebook.codes_of(name)), extended=extended)


#: The accident filter, field by field, in the form's order.
FIELDS: Final[tuple[FilterField, ...]] = (
    FilterField("years", "Années", Range("year", (FIRST_YEAR, LAST_YEAR), sql_type="SMALLINT")),
    FilterField("regions", "Régions", Departments(places.departments_in_regions, places.regions),
                placeholder="Toutes"),
    FilterField("deps", "Départements", Departments(lambda deps: deps, places.departments, show_code=True)),
    _code_field("atm", "Conditions atmosphériques"),
    _code_field("lum", "Lumière"),
    _code_field("surf", "État de la surface"),
    _code_field("agg", "Localisation"),
    _code_field("catr", "Catégorie de route"),
    _code_field("col", "Type de collision", extended=True),
    FilterField("hours", "Heures", Range("hour", (0, 23), wraps=True)),
    FilterField("weekdays", "Jours", Codes("weekday", lambda: codebook.WEEKDAY_LABELS)),
    FilterField("months", "Mois", Codes("month", lambda: codebook.MONTH_LABELS)),
    FilterField("involves", "Impliquant", Groups(tuple(INVOLVED_COLUMNS), lambda: codebook.VEHICLE_GROUP_LABELS,
                                                 columns=INVOLVED_COLUMNS), placeholder="Tous usagers"),
    FilterField("outcome", "Gravité", Choice(OUTCOME_LABELS, {"severe": ("severe", "severe"),
                                                              "fatal": ("n_killed > 0", "fatal")})),
    FilterField("user_categories", "Catégorie d'usager",
                MemberCodes("catu", lambda: codebook.codes_of("catu"), table="users", bits_column="catu_mask"),
                extended=True),
    FilterField("vehicle_groups", "Catégorie de véhicule",
                Groups(VEHICLE_GROUPS, lambda: codebook.VEHICLE_GROUP_LABELS, subquery=_vehicles_in,
                       bits_column="vgroup_mask"), extended=True, placeholder="Toutes"),
    FilterField("age_groups", "Âge", Groups(tuple(AGE_GROUPS), lambda: {g: g.replace("-", "–") + " ans"
                                                                        for g in AGE_GROUPS},
                                            subquery=_people_aged, bits_column="age_mask"), extended=True,
                form_label="Âge (au moins un usager)"),
)


def code_columns(fields: Sequence[FilterField] = FIELDS) -> list[str]:
    """The accidents' own code columns that filter fields test (the arrays a mask needs), sorted.

    Examples
    --------
    >>> code_columns()
    ['agg', 'atm', 'catr', 'col', 'lum', 'month', 'surf', 'weekday']
    """
    return sorted({f.kind.column for f in fields if type(f.kind) is Codes})
