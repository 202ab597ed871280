"""Located accidents for the explorer's map: a fixed sample of points with their popup data, and its captions.

Only located accidents (with coordinates) can be drawn, and how many are
located varies by year: the caption says so from the store's own counts
(:func:`core.queries.located_by_year`), not from figures written in the page.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from core import coverage
from core.explore.counts import Figures, fetch_df
from core.filters import AccidentFilter
from core.formatting import format_count

MAX_POINTS = 5_000
#: What a marker's popup needs, as one JSON array per accident (built by DuckDB, not row by row in Python):
#: lat, lon, "dd/mm/yyyy hh:mm", lum, atm, surf, col, [catv...], killed, hospitalised, light, unharmed.
MARKER_FIELDS = ("lat", "lon", "when", "lum", "atm", "surf", "col", "catv", "killed", "hospitalised", "light",
                 "unharmed")
_MARKER_JSON = (
    "json_array(round(lat, 5), round(lon, 5), "
    "strftime(make_timestamp(year, month, day, hour, minute, 0), '%d/%m/%Y %H:%M'), "
    "lum, atm, surf, col, catv_list, n_killed, n_hospitalised, n_light, n_unharmed)::VARCHAR"
)


def map_points(
    con: duckdb.DuckDBPyConnection, accident_filter: AccidentFilter, *, limit: int = MAX_POINTS
) -> pd.DataFrame:
    """At most ``limit`` located accidents of the filter, the same ones on every call.

    When more match, the sample is a fixed pseudo-random one (ordered by a hash
    of the accident id), so it spreads over the whole period and area instead
    of taking the first ``limit`` by id. Count them all with
    :attr:`core.explore.counts.Figures.located`.

    Returns
    -------
    pandas.DataFrame
        acc_id, lat, lon, and ``marker``: the JSON array of :data:`MARKER_FIELDS`.
    """
    if limit < 1:
        raise ValueError(f"limit must be positive, got {limit}")
    where, params = accident_filter.to_sql(bits=True)
    # The sample is drawn first and the JSON written for its rows only: written in the same
    # SELECT as the ORDER BY ... LIMIT, it would be computed for every matching row (5x slower).
    return fetch_df(
        con,
        f"SELECT acc_id, lat, lon, {_MARKER_JSON} AS marker FROM ("  # noqa: S608
        f"SELECT * FROM accidents WHERE {where} AND lat IS NOT NULL ORDER BY hash(acc_id), acc_id LIMIT ?"
        f") ORDER BY hash(acc_id), acc_id",
        [*params, int(limit)],
    )


def _years_text(years: list[int]) -> str:
    return str(years[0]) if len(years) == 1 else ", ".join(map(str, years[:-1])) + f" et {years[-1]}"


def location_note(by_year: pd.DataFrame) -> str:
    """Which years have no coordinates, and which have them for a minority of their accidents.

    Parameters
    ----------
    by_year
        year, accidents, located: :func:`core.queries.located_by_year`.

    Examples
    --------
    >>> from core import queries
    >>> location_note(queries.located_by_year(con))
    'aucune coordonnée en 2009, une minorité avant 2016'
    """
    rows = by_year[by_year["accidents"] > 0].sort_values("year")
    years = [int(y) for y in rows["year"]]
    none = [y for y, n in zip(years, rows["located"], strict=True) if n == 0]
    minority = [y for y, n, total in zip(years, rows["located"], rows["accidents"], strict=True)
                if n / total < coverage.WELL_LOCATED_SHARE]
    parts = [f"aucune coordonnée en {_years_text(none)}"] if none else []
    cut = coverage.well_located_from(rows)
    if minority and cut is not None and minority == [y for y in years if y < cut]:
        parts.append(f"une minorité avant {cut}")
    elif minority:
        parts.append(f"une minorité en {_years_text(minority)}")
    return ", ".join(parts)


def located_caption(shown: Figures, by_year: pd.DataFrame) -> str:
    """How many of the filter's accidents are located, and how locating varies across the store's years.

    Parameters
    ----------
    shown
        The filter's figures.
    by_year
        :func:`core.queries.located_by_year` (the whole store).
    """
    note = location_note(by_year)
    text = f"{format_count(shown.located)} accidents localisés sur {format_count(shown.accidents)}"
    return f"{text} ({note})." if note else f"{text}."


def sample_notice(located: int, drawn: int) -> str | None:
    """Says that only a sample is drawn when ``located`` accidents match and ``drawn`` are on the map.

    Examples
    --------
    >>> sample_notice(564, 564) is None
    True
    """
    if located <= drawn:
        return None
    return (f"{format_count(located)} accidents localisés correspondent : {format_count(drawn)} "
            "sont dessinés (échantillon fixe). Affinez les filtres pour les voir tous.")
