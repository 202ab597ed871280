"""Two selections of accidents side by side: two areas, or two periods, the rest of the filter shared.

Analysts ask whether Nord has more accidents than Pas-de-Calais under the same
conditions, or whether 2019–2020 was better than 2016–2017. A
:class:`CompareChoice` holds the two sides (their departments or regions, or
their years) and lives in the link like every filter (:meth:`CompareChoice.to_params`,
:func:`read_choice`); :func:`compare` counts both sides with the explorer's
own queries and measures their differences with :mod:`core.explore.intervals`.

Hospitalisations changed definition in 2018: two periods on either side of it
are not compared on hospitalised people nor on the share of severe accidents
(which counts them); two areas over the same years are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import duckdb
import pandas as pd

from core.explore.counts import COUNTS, Figures, grouped_counts
from core.explore.intervals import Estimate, rate_ratio, share_difference
from core.explore.periods import hospitalisation_comparable
from core.filter_text import span_text
from core.filters import AccidentFilter, read_params
from core.formatting import format_quoted

#: What can be compared, as the tab names it.
MODES: Final = {"area": "Deux zones", "period": "Deux périodes"}
#: The filter fields each side sets (in place of the shared filter's); the rest of the filter is shared.
SIDE_FIELDS: Final = {"area": ("regions", "deps"), "period": ("years",)}
SIDES: Final = ("A", "B")
MODE_PARAM: Final = "cmp"
#: Longest area label before the rest is summed up as "et N autres".
LABEL_ITEMS: Final = 3


def side_param(side: str, field: str) -> str:
    """The link parameter of one side's field.

    >>> side_param("A", "deps")
    'cmp_a_deps'
    """
    return f"{MODE_PARAM}_{side.lower()}_{field}"


#: Every link parameter the comparison owns (the explorer's filter keeps its own).
PARAMS: Final = (MODE_PARAM, *(side_param(side, field) for side in SIDES
                               for fields in SIDE_FIELDS.values() for field in fields))


@dataclass(frozen=True)
class CompareChoice:
    """The mode and the two sides, each a filter restricting only the mode's :data:`SIDE_FIELDS`."""

    mode: str
    a: Any
    b: Any

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {list(MODES)}, got {self.mode!r}")
        for side in (self.a, self.b):
            extra = {f.name for f, _ in side.spec.restricting(side)} - set(SIDE_FIELDS[self.mode])
            if extra:
                raise ValueError(f"a {self.mode} side sets only {SIDE_FIELDS[self.mode]}, not {sorted(extra)}")

    def to_params(self) -> dict[str, str]:
        """The link parameters of the comparison.

        >>> CompareChoice("area", AccidentFilter(deps=("59",)), AccidentFilter(deps=("62",))).to_params()
        {'cmp': 'area', 'cmp_a_deps': '59', 'cmp_b_deps': '62'}
        """
        params = {MODE_PARAM: self.mode}
        for side, chosen in zip(SIDES, (self.a, self.b), strict=True):
            params.update((side_param(side, name), text) for name, text in chosen.to_params().items())
        return params

    def side_filters(self, shared: Any) -> tuple[Any, Any]:
        """The shared filter with each side's fields in place of its own."""
        return tuple(shared.with_changes(**{name: getattr(side, name) for name in SIDE_FIELDS[self.mode]})
                     for side in (self.a, self.b))  # type: ignore[return-value]


def default_choice(mode: str, *, data_years: tuple[int, int]) -> CompareChoice:
    """The comparison before any choice: the last year against the one before, or two open areas.

    >>> default_choice("period", data_years=(2005, 2020)).to_params()
    {'cmp': 'period', 'cmp_a_years': '2020-2020', 'cmp_b_years': '2019-2019'}
    """
    if mode == "period":
        last = data_years[1]
        before = max(data_years[0], last - 1)
        return CompareChoice(mode, AccidentFilter(years=(last, last)), AccidentFilter(years=(before, before)))
    return CompareChoice(mode, AccidentFilter(), AccidentFilter())


def read_choice(params: Mapping[str, str], *, data_years: tuple[int, int]) -> tuple[CompareChoice, list[str]]:
    """The comparison of a link, keeping what is valid, and a French note for each value set aside.

    Like the filter's (:func:`core.filters.read_params`): unknown codes are
    dropped, years brought within the store's, a side without a valid value
    takes the default one. The notes quote the link's text: show them escaped.

    Examples
    --------
    >>> choice, notes = read_choice({"cmp": "area", "cmp_a_deps": "59,999", "cmp_b_regions": "32"},
    ...                             data_years=(2005, 2020))
    >>> choice.to_params(), notes
    ({'cmp': 'area', 'cmp_a_deps': '59', 'cmp_b_regions': '32'}, ['A – Départements : « 999 » inconnu, ignoré.'])
    """
    notes: list[str] = []
    mode = params.get(MODE_PARAM, "period")
    if mode not in MODES:
        notes.append(f"Comparaison : {format_quoted(mode)} inconnue (attendu : area ou period), ignorée.")
        mode = "period"
    default = default_choice(mode, data_years=data_years)
    sides = []
    for side, fallback in zip(SIDES, (default.a, default.b), strict=True):
        given = {name: params[key] for name in SIDE_FIELDS[mode] if (key := side_param(side, name)) in params}
        chosen, side_notes = read_params(given, years=data_years)
        notes += [f"{side} – {note}" for note in side_notes]
        sides.append(chosen if chosen.to_params() else fallback)
    return CompareChoice(mode, *sides), notes


# --------------------------------------------------------------------------- #
# Labels and checks of the two sides
# --------------------------------------------------------------------------- #


def side_label(side: Any, *, mode: str, years: tuple[int, int]) -> str:
    """How a side is named: its years, or its regions and departments ("France entière" when open).

    Examples
    --------
    >>> side_label(AccidentFilter(deps=("59", "62")), mode="area", years=(2019, 2020))
    'Nord, Pas-de-Calais'
    >>> side_label(AccidentFilter(years=(2016, 2017)), mode="period", years=(2016, 2017))
    '2016–2017'
    """
    if mode == "period":
        return span_text(years)
    by_name = side.spec.by_name
    names = [by_name["regions"].kind.option_label(code) for code in side.regions]
    names += [by_name["deps"].kind.option_label(code).split(" – ", 1)[-1] for code in side.deps]
    if not names:
        return "France entière"
    shown = ", ".join(names[:LABEL_ITEMS])
    return shown if len(names) <= LABEL_ITEMS else f"{shown} et {len(names) - LABEL_ITEMS} autres"


def side_years(side_filter: Any, *, data_years: tuple[int, int]) -> tuple[int, int]:
    """The years a side counts: its filter's, within the store's."""
    years = side_filter.years or data_years
    return max(years[0], data_years[0]), min(years[1], data_years[1])


def sides_overlap(choice: CompareChoice, years_a: tuple[int, int], years_b: tuple[int, int]) -> bool:
    """True when some accidents may count on both sides (shared departments or years, or an open area).

    >>> sides_overlap(default_choice("period", data_years=(2005, 2020)), (2020, 2020), (2019, 2019))
    False
    """
    if choice.mode == "period":
        return years_a[0] <= years_b[1] and years_b[0] <= years_a[1]
    deps_a, deps_b = choice.a.department_codes(), choice.b.department_codes()
    return not deps_a or not deps_b or bool(set(deps_a) & set(deps_b))


# --------------------------------------------------------------------------- #
# Counting both sides
# --------------------------------------------------------------------------- #


@dataclass(frozen=True, eq=False)
class Side:
    """One side's label, years, figures and counts per year (year, then the Figures fields, zeros included)."""

    name: str
    label: str
    years: tuple[int, int]
    figures: Figures
    by_year: pd.DataFrame

    @property
    def year_count(self) -> int:
        return self.years[1] - self.years[0] + 1

    @property
    def accidents_per_year(self) -> float:
        return self.figures.accidents / self.year_count

    @property
    def killed_per_100(self) -> float | None:
        """People killed per 100 accidents; None without accidents."""
        return 100 * self.figures.killed / self.figures.accidents if self.figures.accidents else None


@dataclass(frozen=True)
class Difference:
    """One line of the comparison: each side's value, A against B as a ratio or a difference, and whether it
    can be read (``unit``: ``"per_year"``, ``"per_100"`` or ``"share"``, how the values are written)."""

    label: str
    values: tuple[float | None, float | None]
    unit: str
    estimate: Estimate
    comparable: bool = True

    @property
    def is_ratio(self) -> bool:
        return self.estimate.null == 1.0


@dataclass(frozen=True, eq=False)
class Comparison:
    """Both sides counted, their differences, and what limits the reading."""

    mode: str
    a: Side
    b: Side
    differences: tuple[Difference, ...]
    hospitalisation_comparable: bool
    overlap: bool
    identical: bool


def _side(con: duckdb.DuckDBPyConnection, name: str, side_filter: Any, label: str, years: tuple[int, int]) -> Side:
    (by_year,) = grouped_counts(con, side_filter.with_changes(years=years), [("year",)])
    all_years = pd.DataFrame({"year": range(years[0], years[1] + 1)})
    by_year = all_years.merge(by_year.astype({"year": "int64"}), on="year", how="left")
    by_year = by_year.fillna(0).astype({m: "int64" for m in COUNTS})
    return Side(name, label, years, Figures(*(int(by_year[m].sum()) for m in COUNTS)), by_year)


def _per_year(label: str, a: Side, b: Side, count: str, *, comparable: bool = True) -> Difference:
    count_a, count_b = getattr(a.figures, count), getattr(b.figures, count)
    return Difference(label, (count_a / a.year_count, count_b / b.year_count), "per_year",
                      rate_ratio(count_a, a.year_count, count_b, b.year_count), comparable)


def differences(a: Side, b: Side, *, hospitalisation_comparable: bool) -> tuple[Difference, ...]:
    """Yearly rates of accidents, killed and hospitalised, killed per accident (ratios), severe share (difference)."""
    fa, fb = a.figures, b.figures
    # killed per accident: a rate whose exposure is the accidents (a side without any leaves nothing to compare)
    per_accident = (rate_ratio(fa.killed, fa.accidents, fb.killed, fb.accidents) if fa.accidents and fb.accidents
                    else Estimate(None, None, None, 1.0))
    return (
        _per_year("Accidents par an", a, b, "accidents"),
        _per_year("Tués par an", a, b, "killed"),
        _per_year("Blessés hospitalisés par an", a, b, "hospitalised", comparable=hospitalisation_comparable),
        Difference("Tués pour 100 accidents", (a.killed_per_100, b.killed_per_100), "per_100", per_accident),
        Difference("Part d'accidents graves", (fa.severe_share, fb.severe_share), "share",
                   share_difference(fa.severe_accidents, fa.accidents, fb.severe_accidents, fb.accidents),
                   comparable=hospitalisation_comparable),
    )


def compare(
    con: duckdb.DuckDBPyConnection, shared: Any, choice: CompareChoice, *, data_years: tuple[int, int]
) -> Comparison:
    """Count both sides of ``choice`` under the ``shared`` filter and measure their differences.

    Parameters
    ----------
    shared
        The filter of the form; each side replaces its :data:`SIDE_FIELDS`.
    data_years
        The store's first and last year: a side without years counts them all.

    Examples
    --------
    >>> choice = CompareChoice("area", AccidentFilter(deps=("59",)), AccidentFilter(deps=("62",)))
    >>> result = compare(con, AccidentFilter(years=(2020, 2020)), choice, data_years=(2005, 2020))
    >>> result.a.label, result.a.figures.accidents > result.b.figures.accidents, result.overlap
    ('Nord', True, False)
    """
    filters = choice.side_filters(shared)
    years = tuple(side_years(f, data_years=data_years) for f in filters)
    sides = [_side(con, name, f, side_label(chosen, mode=choice.mode, years=span), span)
             for name, f, chosen, span in zip(SIDES, filters, (choice.a, choice.b), years, strict=True)]
    comparable = choice.mode == "area" or hospitalisation_comparable(*years)
    return Comparison(choice.mode, sides[0], sides[1], differences(*sides, hospitalisation_comparable=comparable),
                      hospitalisation_comparable=comparable, overlap=sides_overlap(choice, *years),
                      identical=filters[0] == filters[1])
