"""The accident filter shared by every page: validation, SQL, URL parameters.

A filter is a frozen, hashable value, so pages can use it as a cache key and a
shared link can be turned back into exactly the same filter. Its SQL is a
``WHERE`` clause over the ``accidents`` table of :mod:`core.store` whose
column names are fixed here and whose values always travel as parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

from core import codebook, places
from core.formatting import format_quoted

OUTCOMES = ("all", "severe", "fatal")
# The filter form's words for each outcome (also quoted by messages about a filter).
OUTCOME_LABELS = {"all": "Tous les accidents", "severe": "Tué ou blessé hospitalisé", "fatal": "Mortels"}
INVOLVED = ("pedestrian", "bicycle", "two_wheeler", "hgv")
_INVOLVED_COLUMN = {
    "pedestrian": "has_pedestrian",
    "bicycle": "has_bicycle",
    "two_wheeler": "has_two_wheeler",
    "hgv": "has_hgv",
}
# A list parameter typed like the TINYINT code columns it is compared with (see ``to_sql``).
_CODES = "CAST(? AS TINYINT[])"
# Filter field -> accidents column, for the multi-choice code filters.
CODE_FIELDS = {"atm": "atm", "lum": "lum", "surf": "surf", "agg": "agg", "catr": "catr", "col": "col"}
FIRST_YEAR, LAST_YEAR = 2005, 2030
# Vehicle groups a filter can ask for (keys of codebook.VEHICLE_GROUP_LABELS, pedestrians aside).
VEHICLE_GROUPS = ("bicycle", "two_wheeler", "light_vehicle", "hgv", "other")
# Age groups: key -> inclusive (min, max) age in the accident's year.
AGE_GROUPS: dict[str, tuple[int, int]] = {
    "0-17": (0, 17), "18-24": (18, 24), "25-34": (25, 34), "35-49": (35, 49), "50-64": (50, 64),
    "65-74": (65, 74), "75+": (75, 130),
}


def _catv_of_groups(groups: tuple[str, ...]) -> list[int]:
    """Every catv code whose group (``codebook.vehicle_group``) is in ``groups``."""
    return sorted(c for c in codebook.valid_codes("catv") if codebook.vehicle_group(c) in groups)


class FilterError(ValueError):
    """A filter value is not valid; the message names the field."""


@dataclass(frozen=True)
class AccidentFilter:
    """Which accidents to count. Empty tuples and None mean "no restriction".

    Parameters
    ----------
    years
        Inclusive (first, last) year range.
    regions, deps
        INSEE region and department codes; an accident matches when its
        department is in ``deps`` or in one of ``regions``.
    atm, lum, surf, agg, catr, col
        BAAC codes (see :mod:`core.codebook`).
    hours
        Inclusive (first, last) hour of day; wraps midnight when first > last
        (``(22, 4)`` is 22 h to 4 h 59).
    weekdays
        0 = Monday ... 6 = Sunday.
    months
        1 ... 12.
    involves
        Keep accidents involving at least one of these road-user groups.
    outcome
        ``all``, ``severe`` (someone killed or hospitalised) or ``fatal``.
    user_categories
        Keep accidents with at least one person of these ``catu`` codes.
    vehicle_groups
        Keep accidents with at least one vehicle of these groups (:data:`VEHICLE_GROUPS`).
    age_groups
        Keep accidents with at least one person in these age groups (:data:`AGE_GROUPS`).

    Examples
    --------
    >>> f = AccidentFilter(years=(2019, 2020), atm=(2, 3), hours=(22, 4))
    >>> AccidentFilter.from_params(f.to_params()) == f
    True
    """

    years: tuple[int, int] | None = None
    regions: tuple[str, ...] = ()
    deps: tuple[str, ...] = ()
    atm: tuple[int, ...] = ()
    lum: tuple[int, ...] = ()
    surf: tuple[int, ...] = ()
    agg: tuple[int, ...] = ()
    catr: tuple[int, ...] = ()
    col: tuple[int, ...] = ()
    hours: tuple[int, int] | None = None
    weekdays: tuple[int, ...] = ()
    months: tuple[int, ...] = ()
    involves: tuple[str, ...] = ()
    outcome: str = "all"
    user_categories: tuple[int, ...] = ()
    vehicle_groups: tuple[str, ...] = ()
    age_groups: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        validate(self)

    def with_changes(self, **changes: object) -> AccidentFilter:
        """A copy with some fields changed (validated)."""
        return replace(self, **changes)

    def department_codes(self) -> tuple[str, ...]:
        """Departments selected directly or through a region, sorted; () when unrestricted."""
        chosen = set(self.deps) | set(places.departments_in_regions(self.regions))
        return tuple(sorted(chosen))

    def to_sql(self, *, alias: str = "") -> tuple[str, list[object]]:
        """``WHERE`` clause (without the keyword) and its parameters.

        Examples
        --------
        Parameters are cast to the column's own type (``TINYINT`` codes,
        ``SMALLINT`` years): compared with plain integer parameters, DuckDB would
        cast every row of the column instead and could not push the test into the
        scan, which made filtered aggregates about 1.5x slower.

        >>> AccidentFilter(atm=(2,), outcome="fatal").to_sql()
        ('list_contains(CAST(? AS TINYINT[]), atm) AND n_killed > 0', [[2]])
        """
        p = f"{alias}." if alias else ""
        clauses: list[str] = []
        params: list[object] = []
        if self.years:
            clauses.append(f"{p}year BETWEEN CAST(? AS SMALLINT) AND CAST(? AS SMALLINT)")
            params += list(self.years)
        deps = self.department_codes()
        if deps:
            clauses.append(f"list_contains(?, {p}dep)")
            params.append(list(deps))
        for name, column in CODE_FIELDS.items():
            values = getattr(self, name)
            if values:
                clauses.append(f"list_contains({_CODES}, {p}{column})")
                params.append(list(values))
        if self.hours:
            first, last = self.hours
            joiner = "AND" if first <= last else "OR"
            clauses.append(f"({p}hour >= CAST(? AS TINYINT) {joiner} {p}hour <= CAST(? AS TINYINT))")
            params += [first, last]
        if self.weekdays:
            clauses.append(f"list_contains({_CODES}, {p}weekday)")
            params.append(list(self.weekdays))
        if self.months:
            clauses.append(f"list_contains({_CODES}, {p}month)")
            params.append(list(self.months))
        if self.involves:
            clauses.append("(" + " OR ".join(f"{p}{_INVOLVED_COLUMN[g]}" for g in self.involves) + ")")
        if self.outcome == "severe":
            clauses.append(f"{p}severe")
        elif self.outcome == "fatal":
            clauses.append(f"{p}n_killed > 0")
        if self.user_categories:
            clauses.append(f"{p}acc_id IN (SELECT acc_id FROM users WHERE list_contains(?, catu))")
            params.append(list(self.user_categories))
        if self.vehicle_groups:
            clauses.append(f"{p}acc_id IN (SELECT acc_id FROM vehicles WHERE list_contains(?, catv))")
            params.append(_catv_of_groups(self.vehicle_groups))
        if self.age_groups:
            ranges = [AGE_GROUPS[g] for g in self.age_groups]
            ages = " OR ".join("(age BETWEEN ? AND ?)" for _ in ranges)
            clauses.append(
                f"{p}acc_id IN (SELECT u.acc_id FROM (SELECT acc_id, CAST(acc_id // 100000000 AS INTEGER) "
                f"- birth_year AS age FROM users) u WHERE {ages})"
            )
            params += [bound for pair in ranges for bound in pair]
        return (" AND ".join(clauses) or "true"), params

    def to_params(self) -> dict[str, str]:
        """URL query parameters carrying this filter (only the fields that restrict)."""
        out: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "outcome":
                if value != "all":
                    out["outcome"] = value
            elif f.name in ("years", "hours"):
                if value:
                    out[f.name] = f"{value[0]}-{value[1]}"
            elif value:
                out[f.name] = ",".join(str(v) for v in value)
        return out

    @classmethod
    def from_params(cls, params: Mapping[str, str | list[str]]) -> AccidentFilter:
        """Rebuild a filter from URL query parameters; unknown keys are ignored.

        Raises
        ------
        FilterError
            When a value is malformed, naming the parameter.
        """
        values: dict[str, object] = {}
        for f in fields(cls):
            if f.name not in params:
                continue
            text = params[f.name]
            text = text[-1] if isinstance(text, list) else text
            try:
                if f.name == "outcome":
                    values[f.name] = text
                elif f.name in ("years", "hours"):
                    first, last = text.split("-")
                    values[f.name] = (int(first), int(last))
                elif f.name in ("regions", "deps", "involves", "vehicle_groups", "age_groups"):
                    values[f.name] = tuple(v for v in text.split(",") if v)
                else:
                    values[f.name] = tuple(int(v) for v in text.split(",") if v)
            except ValueError as error:
                raise FilterError(f"{f.name}: cannot read {text!r} ({error})") from error
        return cls(**values)


# French names of the fields, as the filter form labels them: for messages about a link.
FIELD_LABELS = {
    "years": "Années", "regions": "Régions", "deps": "Départements", "atm": "Conditions atmosphériques",
    "lum": "Lumière", "surf": "État de la surface", "agg": "Localisation", "catr": "Catégorie de route",
    "col": "Type de collision", "hours": "Heures", "weekdays": "Jours", "months": "Mois",
    "involves": "Impliquant", "outcome": "Gravité", "user_categories": "Catégorie d'usager",
    "vehicle_groups": "Catégorie de véhicule", "age_groups": "Âge",
}
_RANGE_BOUNDS = {"hours": (0, 23)}



def _is_valid(name: str, value: object) -> bool:
    try:
        validate(replace(AccidentFilter(), **{name: value}))
    except (FilterError, TypeError):
        return False
    return True


def _read_range(name: str, text: str, bounds: tuple[int, int]) -> tuple[tuple[int, int] | None, str | None]:
    label = FIELD_LABELS[name]
    try:
        first, last = (int(v) for v in text.split("-"))
    except ValueError:
        return None, f"{label} : {format_quoted(text)} illisible (attendu : deux nombres, comme 2016-2020), ignoré."
    low, high = bounds
    clamped = (min(max(first, low), high), min(max(last, low), high))
    if name == "years":  # hours may wrap midnight (22-4), years may not
        clamped = (min(clamped), max(clamped))
    if clamped == (first, last):
        return clamped, None
    kept = f"{clamped[0]}–{clamped[1]}"
    return clamped, f"{label} : {format_quoted(text)} hors de {low}–{high} ou inversé, ramené à {kept}."


def _read_items(name: str, text: str, is_text: bool) -> tuple[tuple, str | None]:
    kept, dropped = [], []
    for item in (v for v in text.split(",") if v):
        try:
            value = item if is_text else int(item)
        except ValueError:
            dropped.append(item)
            continue
        (kept if _is_valid(name, (value,)) else dropped).append(value)
    note = None
    if dropped:
        values = format_quoted(", ".join(str(v) for v in dropped))
        plural = "s" if len(dropped) > 1 else ""
        note = f"{FIELD_LABELS[name]} : {values} inconnu{plural}, ignoré{plural}."
    return tuple(dict.fromkeys(kept)), note


def read_params(
    params: Mapping[str, str | list[str]], *, years: tuple[int, int] = (FIRST_YEAR, LAST_YEAR)
) -> tuple[AccidentFilter, list[str]]:
    """The filter of a link, keeping what is valid, and a French note for each value set aside.

    A shared or hand-typed link never fails: unknown codes are dropped one by one,
    ranges outside their bounds are brought back within them (``years`` gives the
    bounds of the year range, e.g. the years the store holds), and what cannot be
    read is ignored. The notes quote the link's text as it came: show them escaped.

    Examples
    --------
    >>> read_params({"deps": "59,999", "years": "2001-2019"}, years=(2005, 2020))[0]
    AccidentFilter(years=(2005, 2019), regions=(), deps=('59',), atm=(), lum=(), surf=(), agg=(), catr=(), \
col=(), hours=None, weekdays=(), months=(), involves=(), outcome='all', user_categories=(), vehicle_groups=(), \
age_groups=())
    """
    values: dict[str, object] = {}
    notes: list[str] = []
    for f in fields(AccidentFilter):
        if f.name not in params:
            continue
        text = params[f.name]
        text = str(text[-1] if isinstance(text, list) else text)
        if f.name in ("years", "hours"):
            value, note = _read_range(f.name, text, years if f.name == "years" else _RANGE_BOUNDS[f.name])
        elif f.name == "outcome":
            valid = text in OUTCOMES
            value = text if valid else None
            note = None if valid else f"{FIELD_LABELS[f.name]} : {format_quoted(text)} inconnue, ignorée."
        else:
            value, note = _read_items(f.name, text, is_text=f.type.startswith("tuple[str"))
        if value:
            values[f.name] = value
        if note:
            notes.append(note)
    return AccidentFilter(**values), notes


def validate(f: AccidentFilter) -> None:
    """Raise :class:`FilterError` naming the first invalid field of ``f``."""
    for name in ("years", "hours"):
        value = getattr(f, name)
        if value is not None and (len(value) != 2 or not all(isinstance(v, int) for v in value)):
            raise FilterError(f"{name}: expected two whole numbers, got {value!r}")
    if f.years and not (FIRST_YEAR <= f.years[0] <= f.years[1] <= LAST_YEAR):
        raise FilterError(f"years: {f.years} is not an increasing range within {FIRST_YEAR}-{LAST_YEAR}")
    if f.hours and not all(0 <= h <= 23 for h in f.hours):
        raise FilterError(f"hours: {f.hours} must be hours from 0 to 23")
    for name in CODE_FIELDS:
        unknown = [v for v in getattr(f, name) if not codebook.is_known(name, v)]
        if unknown:
            raise FilterError(f"{name}: unknown code(s) {unknown}")
    bad_weekdays = [d for d in f.weekdays if not 0 <= d <= 6]
    if bad_weekdays:
        raise FilterError(f"weekdays: {bad_weekdays} (0 = Monday ... 6 = Sunday)")
    bad_months = [m for m in f.months if not 1 <= m <= 12]
    if bad_months:
        raise FilterError(f"months: {bad_months} (1 ... 12)")
    known_deps = {code for code, _ in places.departments()}
    bad_deps = [d for d in f.deps if d not in known_deps]
    if bad_deps:
        raise FilterError(f"deps: unknown department code(s) {bad_deps}")
    known_regions = {code for code, _ in places.regions()}
    bad_regions = [r for r in f.regions if r not in known_regions]
    if bad_regions:
        raise FilterError(f"regions: unknown region code(s) {bad_regions}")
    bad_groups = [g for g in f.involves if g not in INVOLVED]
    if bad_groups:
        raise FilterError(f"involves: {bad_groups} (choose among {', '.join(INVOLVED)})")
    bad_catu = [c for c in f.user_categories if not codebook.is_known("catu", c)]
    if bad_catu:
        raise FilterError(f"user_categories: unknown catu code(s) {bad_catu}")
    bad_vehicles = [g for g in f.vehicle_groups if g not in VEHICLE_GROUPS]
    if bad_vehicles:
        raise FilterError(f"vehicle_groups: {bad_vehicles} (choose among {', '.join(VEHICLE_GROUPS)})")
    bad_ages = [g for g in f.age_groups if g not in AGE_GROUPS]
    if bad_ages:
        raise FilterError(f"age_groups: {bad_ages} (choose among {', '.join(AGE_GROUPS)})")
    if f.outcome not in OUTCOMES:
        raise FilterError(f"outcome: {f.outcome!r} (choose among {', '.join(OUTCOMES)})")
