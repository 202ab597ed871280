"""Per-year figures from located accidents: which department-years to count, and what each accident stands for.

Why this module exists: only the located accidents (with coordinates) fall in a
hexagon, and until 2016 they are a minority that is neither even across
departments (2015: Nord 33 %, Finistère 99 % located) nor a random draw within
one (2005-2015: 21-57 % of severe accidents located against 3-44 % of the
others; 24-55 % outside built-up areas against 5-47 % inside). Dividing a
hexagon's located accidents by the years of the range understated per-year
figures, and unevenly between areas.

The method, a Horvitz-Thompson estimate on strata:

* a department-year counts when at least :data:`COVERED_SHARE` (70 %) of its
  accidents are located. Below that, locating leaves whole communes out: the
  median error of a commune's estimated yearly count (communes with 30
  accidents or more) is a factor of 77 to 133 below 30 % located, 41 % at
  30-50 %, 17 % at 50-70 %, and 9 % or less from 70 %, against 5.5 % or less
  if locating were random (``bench/risk_map.py`` measures it);
* inside a counted department-year, the located accidents of a stratum
  (built-up area or not x severe or not) stand for all the stratum's
  accidents: each weighs ``accidents / located`` of its stratum;
* a department's per-year figure is the weighted count divided by its number
  of counted years in the range.

The weights come from all the accidents of a stratum, whatever the filter: a
filter on hours or weather assumes those accidents are located as often as
the others of their stratum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Smallest share of a department-year's accidents that must be located for its per-year figures to count.
COVERED_SHARE = 0.7
#: The risk map's default period: the years where at least 90 % of the accidents are located France-wide
#: (2017: 85.7 %, 2018: 94.5 %, 2019 and 2020: 100 %), which are also the years with one definition of
#: "blessé hospitalisé" (it changed in 2018).
DEFAULT_YEARS = (2018, 2020)
#: What a place without a counted department-year is said to have, on the map and its legend.
NO_COUNTED_YEAR = "aucune année assez géolocalisée"
_STRATUM = ["dep", "year", "agg", "severe"]


@dataclass(frozen=True, eq=False)
class LocationCoverage:
    """How the located accidents stand for all accidents, read-only.

    ``weight[i]`` is the number of accidents the i-th located accident stands
    for in its stratum (0 when its department-year is not counted);
    ``covered[d, y - first_year]`` tells whether department ``d`` (numbered as
    :attr:`core.risk.facts.HexFacts.dep_names`) counts in year ``y``.
    """

    weight: np.ndarray
    covered: np.ndarray
    first_year: int

    def years_counted(self, years: tuple[int, int] | None) -> np.ndarray:
        """Counted years of each department within ``years`` (the whole store when None)."""
        last_year = self.first_year + self.covered.shape[1] - 1
        first, last = years or (self.first_year, last_year)
        start, stop = max(first, self.first_year) - self.first_year, min(last, last_year) - self.first_year + 1
        return self.covered[:, start:max(start, stop)].sum(axis=1)

    def yearly_weights(self, dep_index: np.ndarray, years: tuple[int, int] | None) -> np.ndarray:
        """Each located accident's part in its department's per-year average over ``years``.

        ``weight / counted years of the department``; 0 for an accident whose
        department-year does not count. Summed over a hexagon's accidents of a
        filter, it gives the hexagon's estimated accidents per year.
        """
        counted = self.years_counted(years)
        per_department = np.where(counted > 0, 1.0 / np.maximum(counted, 1), 0.0)
        return self.weight * np.append(per_department, 0.0)[dep_index]


def department_year_shares(strata: pd.DataFrame) -> pd.DataFrame:
    """Located share of each department-year from :func:`core.queries.location_strata`.

    Examples
    --------
    >>> from core import queries
    >>> shares = department_year_shares(queries.location_strata(con))
    >>> round(float(shares.loc[("59", 2015), "share"]), 3)
    0.326
    """
    totals = strata.groupby(["dep", "year"])[["accidents", "located"]].sum()
    return totals.assign(share=totals["located"] / totals["accidents"])


def location_coverage(strata: pd.DataFrame, located: pd.DataFrame, dep_names: np.ndarray) -> LocationCoverage:
    """Stratum weights of the located accidents and the counted department-years.

    Parameters
    ----------
    strata
        :func:`core.queries.location_strata`.
    located
        One row per located accident, in the order of the facts: ``dep``
        (INSEE code), ``year``, ``agg`` (-1 when unknown) and ``severe``.
    dep_names
        Department codes in the numbering of the coverage rows.
    """
    shares = department_year_shares(strata)
    counted = shares.index[shares["share"] >= COVERED_SHARE]
    per_stratum = strata.assign(weight=strata["accidents"] / strata["located"].where(strata["located"] > 0))
    per_stratum = per_stratum.set_index(["dep", "year"])
    per_stratum.loc[~per_stratum.index.isin(counted), "weight"] = 0.0
    keys = located[_STRATUM].astype({"year": "int64", "agg": "int64", "severe": bool})
    table = per_stratum.reset_index()[[*_STRATUM, "weight"]].astype({"year": "int64", "agg": "int64"})
    weight = keys.merge(table, on=_STRATUM, how="left")["weight"].fillna(0.0).to_numpy(dtype=float)
    first_year, last_year = int(strata["year"].min()), int(strata["year"].max())
    grid = np.zeros((len(dep_names), last_year - first_year + 1), dtype=bool)
    row = {code: i for i, code in enumerate(dep_names)}
    for dep, year in counted:
        if dep in row:
            grid[row[dep], int(year) - first_year] = True
    weight.flags.writeable = False
    grid.flags.writeable = False
    return LocationCoverage(weight, grid, first_year)


#: A year's located accidents stand for all of it from this share on (the severity rates' note).
WELL_LOCATED_SHARE = 0.5


def well_located_from(by_year: pd.DataFrame) -> int | None:
    """The first year from which every year has at least :data:`WELL_LOCATED_SHARE` of its accidents located.

    Examples
    --------
    >>> well_located_from(pd.DataFrame({"year": [2014, 2015, 2016, 2017], "accidents": [10, 10, 10, 10],
    ...                                 "located": [3, 6, 4, 9]}))
    2017
    """
    share = by_year["located"] / by_year["accidents"]
    below = by_year.loc[share < WELL_LOCATED_SHARE, "year"]
    later = by_year.loc[by_year["year"] > (below.max() if len(below) else -1), "year"]
    return int(later.min()) if len(later) else None

