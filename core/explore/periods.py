"""The chosen period against the previous one of the same length: figures, yearly counts, and their French texts.

The explorer's headline compares the filter's figures with the same filter
over the period just before (2019-2020 against 2017-2018). One query counts
both periods year by year; :func:`headline_metrics` turns the comparison into
the labels, values and changes the page shows, and says "non comparable" for
hospitalisations across the 2018 break in their recording.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from core.codebook import HOSPITALISATION_BREAK_YEAR
from core.explore.counts import COUNTS, Figures, grouped_counts
from core.filters import AccidentFilter
from core.formatting import format_count, format_decimal, format_percent

#: The change shown for hospitalisations compared across the break.
NOT_COMPARABLE = f"non comparable ({HOSPITALISATION_BREAK_YEAR})"


def hospitalisation_comparable(years_a: tuple[int, int], years_b: tuple[int, int]) -> bool:
    """False when one period reaches before the 2018 break in hospitalisation recording and one after it.

    >>> hospitalisation_comparable((2019, 2020), (2018, 2018)), hospitalisation_comparable((2016, 2017), (2019, 2020))
    (True, False)
    """
    spans = (years_a, years_b)
    return not (any(first < HOSPITALISATION_BREAK_YEAR for first, _ in spans)
                and any(last >= HOSPITALISATION_BREAK_YEAR for _, last in spans))


@dataclass(frozen=True, eq=False)
class PeriodComparison:
    """Figures of the chosen period, of the previous period of the same length (if in the store), and
    the chosen period's counts per year (year, then the :class:`~core.explore.counts.Figures` fields)."""

    years: tuple[int, int]
    current: Figures
    previous_years: tuple[int, int] | None
    previous: Figures | None
    by_year: pd.DataFrame

    @property
    def hospitalisation_comparable(self) -> bool:
        """False when one period is before the 2018 break in hospitalisation recording and the other after."""
        return self.previous_years is not None and hospitalisation_comparable(self.years, self.previous_years)


def _sum_years(by_year: pd.DataFrame, years: tuple[int, int]) -> Figures:
    rows = by_year[by_year["year"].between(*years)]
    return Figures(*(int(rows[name].sum()) for name in COUNTS))


def _yearly_rows(
    con: duckdb.DuckDBPyConnection, accident_filter: AccidentFilter, years: tuple[int, int]
) -> pd.DataFrame:
    """Counts per year over ``years`` (in place of the filter's own years), zeros included."""
    (by_year,) = grouped_counts(con, accident_filter.with_changes(years=years), [("year",)])
    all_years = pd.DataFrame({"year": range(years[0], years[1] + 1)})
    by_year = all_years.merge(by_year.astype({"year": "int64"}), on="year", how="left")
    return by_year.fillna(0).astype({m: "int64" for m in COUNTS})


def previous_period(years: tuple[int, int], *, first_year: int) -> tuple[int, int] | None:
    """The period of the same length just before ``years``; None when it starts before ``first_year``.

    Examples
    --------
    >>> previous_period((2019, 2020), first_year=2005)
    (2017, 2018)
    >>> previous_period((2005, 2020), first_year=2005) is None
    True
    """
    first, last = years
    length = last - first + 1
    start = first - length
    return None if start < first_year else (start, first - 1)


def compare_periods(
    con: duckdb.DuckDBPyConnection, accident_filter: AccidentFilter, *, data_years: tuple[int, int]
) -> PeriodComparison:
    """Figures of the filter and of the same filter over the previous period of the same length.

    One query counts both periods year by year; the yearly counts of the
    chosen period come with the figures (:attr:`PeriodComparison.by_year`),
    every year of the period included (zeros too), so a trend never skips one.

    Parameters
    ----------
    data_years
        First and last year held by the store: the period when the filter
        names none, and the limit of the previous period.
    """
    years = accident_filter.years or data_years
    years = (max(years[0], data_years[0]), min(years[1], data_years[1]))
    before = previous_period(years, first_year=data_years[0])
    by_year = _yearly_rows(con, accident_filter, ((before or years)[0], years[1]))
    return PeriodComparison(
        years=years,
        current=_sum_years(by_year, years),
        previous_years=before,
        previous=_sum_years(by_year, before) if before else None,
        by_year=by_year[by_year["year"].between(*years)].reset_index(drop=True),
    )


def yearly_table(by_year: pd.DataFrame) -> pd.DataFrame:
    """The yearly figures as users read them (French column names, severe share in %).

    Numbers stay numbers (a table sorts on them); the page shows them in
    French through :func:`core.explore.table.french_numbers`.
    """
    table = pd.DataFrame({
        "Année": by_year["year"].astype(str),
        "Accidents": by_year["accidents"],
        "Tués": by_year["killed"],
        "Blessés hospitalisés": by_year["hospitalised"],
        "Blessés légers": by_year["light"],
    })
    accidents = by_year["accidents"].where(by_year["accidents"] > 0)
    table["Accidents graves (%)"] = (100 * by_year["severe_accidents"] / accidents).round(1)
    return table


# --------------------------------------------------------------------------- #
# The headline's texts
# --------------------------------------------------------------------------- #


def relative_change(current: float | None, previous: float | None) -> float | None:
    """``current / previous - 1``; None when there is nothing to compare.

    Examples
    --------
    >>> relative_change(2780, 3498)  # doctest: +ELLIPSIS
    -0.20526...
    """
    if current is None or not previous:
        return None
    return current / previous - 1


def change_text(current: float | None, previous: float | None, *, comparable: bool = True) -> str | None:
    """Relative change as ``'+4,2 %'``; None without a previous period.

    Examples
    --------
    >>> change_text(2780, 3498)
    '-20,5\\xa0%'
    >>> change_text(2780, None) is None, change_text(1, 2, comparable=False)
    (True, 'non comparable (2018)')
    """
    if not comparable:
        return NOT_COMPARABLE
    ratio = relative_change(current, previous)
    return None if ratio is None else ("+" if ratio > 0 else "") + format_percent(ratio)


def share_change_text(current: float | None, previous: float | None, *, comparable: bool) -> str | None:
    """Change of a share in percentage points, as ``'-1,3 pt'``.

    Examples
    --------
    >>> share_change_text(0.25, 0.2, comparable=True)
    '+5,0\\xa0pt'
    """
    if not comparable:
        return NOT_COMPARABLE
    if current is None or previous is None:
        return None
    points = (current - previous) * 100
    return ("+" if points > 0 else "") + format_decimal(points) + "\u00a0pt"


@dataclass(frozen=True)
class Metric:
    """One figure of the headline: label, value and change as shown, and its help text.

    ``delta_color`` and ``delta_arrow`` are Streamlit's words for how the
    change is drawn: a fall in victims is good news (``inverse``: green going
    down); a change that is not comparable gets neither colour nor arrow, which
    would read as a rise.
    """

    label: str
    value: str
    delta: str | None
    help: str | None = None
    delta_color: str = "inverse"
    delta_arrow: str = "auto"


def _not_comparable_drawing(delta: str | None) -> dict[str, str]:
    """Grey and without arrow when ``delta`` says "non comparable"."""
    return {"delta_color": "off", "delta_arrow": "off"} if delta == NOT_COMPARABLE else {}


def headline_metrics(periods: PeriodComparison) -> tuple[Metric, ...]:
    """Accidents, killed, hospitalised, lightly injured and severe share, with their change.

    Hospitalisations and the severe share (which counts them) are not compared
    across the 2018 break.

    Examples
    --------
    >>> periods = compare_periods(con, AccidentFilter(years=(2020, 2020)), data_years=(2005, 2020))
    >>> [(m.label, m.value, m.delta) for m in headline_metrics(periods)][:2]
    [('Accidents', '47\\u202f744', '-18,9\\xa0%'), ('Tués', '2\\u202f780', '-20,5\\xa0%')]
    """
    now, before = periods.current, periods.previous
    comparable = periods.hospitalisation_comparable or before is None
    hospitalised = change_text(now.hospitalised, before and before.hospitalised, comparable=comparable)
    severe_share = share_change_text(now.severe_share, before and before.severe_share, comparable=comparable)
    return (
        Metric("Accidents", format_count(now.accidents), change_text(now.accidents, before and before.accidents)),
        Metric("Tués", format_count(now.killed), change_text(now.killed, before and before.killed)),
        Metric("Blessés hospitalisés", format_count(now.hospitalised), hospitalised,
               help=f"Définition changée en {HOSPITALISATION_BREAK_YEAR} : pas de comparaison de part et d'autre.",
               **_not_comparable_drawing(hospitalised)),
        Metric("Blessés légers", format_count(now.light), change_text(now.light, before and before.light)),
        Metric("Part d'accidents graves", format_percent(now.severe_share), severe_share,
               help="Accidents avec au moins un tué ou un blessé hospitalisé.",
               **_not_comparable_drawing(severe_share)),
    )


def period_caption(periods: PeriodComparison, *, data_years: tuple[int, int]) -> str:
    """The period shown and the one it is compared with, or why there is none.

    Examples
    --------
    >>> periods = compare_periods(con, AccidentFilter(years=(2019, 2020)), data_years=(2005, 2020))
    >>> period_caption(periods, data_years=(2005, 2020))
    'Période 2019–2020, comparée à 2017–2018.'
    """
    period_text = f"{periods.years[0]}–{periods.years[1]}"
    if periods.previous_years is None:
        return (f"Période {period_text}. Pas de comparaison : la période précédente de même durée sort des "
                f"données ({data_years[0]}–{data_years[1]}).")
    return f"Période {period_text}, comparée à {periods.previous_years[0]}–{periods.previous_years[1]}."
