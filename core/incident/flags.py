"""What looks wrong in an incident but can still be scored: a far point, a misplaced commune, an odd date.

Why a module of its own
-----------------------
A value that parses may still be a typing slip: latitude and longitude
swapped, a point in the wrong department, a commune of another department, a
year far from the data or in the future. The estimate is given anyway, with a
``warnings`` list that says what to check (:func:`incident_warnings`), never
silently. These checks run on a whole batch at once, on the arrays of
:class:`core.features.columns.IncidentColumns`.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import numpy as np

from core import place_checks, places

#: A point farther than this from its department (outline) is flagged.
DEPARTMENT_MARGIN_KM: Final = 5.0
#: A date this many years before the data's first year is flagged.
YEARS_BEFORE_DATA: Final = 5


def incident_warnings(*, lat: np.ndarray, lon: np.ndarray, dep: np.ndarray, com: np.ndarray, year: np.ndarray,
                      month: np.ndarray, day: np.ndarray, data_years: tuple[int, int],
                      today: dt.date | None = None) -> list[list[dict[str, str]]]:
    """What looks wrong in a batch of parsed incidents, per incident (an empty list when nothing does).

    Parameters
    ----------
    lat, lon, year, month, day : numpy.ndarray
        float64, NaN when unknown.
    dep, com : numpy.ndarray
        INSEE codes, ``""`` when unknown.
    data_years : tuple of int
        First and last year of the data the model knows.
    today : datetime.date, optional
        Default: today's date (UTC).

    Returns
    -------
    list of list of dict
        Per incident, ``{"field", "reason"}`` objects: a point outside France,
        a point more than :data:`DEPARTMENT_MARGIN_KM` km outside its department,
        a commune of another department, a date more than
        :data:`YEARS_BEFORE_DATA` years before the data or after today.

    Examples
    --------
    >>> nan = np.array([np.nan])
    >>> incident_warnings(lat=np.array([43.3]), lon=np.array([5.4]), dep=np.array(["59"]), com=np.array([""]),
    ...                   year=np.array([2100.0]), month=np.array([1.0]), day=np.array([1.0]),
    ...                   data_years=(2005, 2020))[0][0]["field"]
    'lat'
    """
    n = len(lat)
    out: list[list[dict[str, str]]] = [[] for _ in range(n)]
    located = ~(np.isnan(lat) | np.isnan(lon))
    if located.any():
        _place_warnings(out, lat, lon, dep, located)
    _commune_warnings(out, dep, com)
    dated = ~np.isnan(year)
    if dated.any():
        _date_warnings(out, year, month, day, dated, data_years, today or dt.datetime.now(dt.UTC).date())
    return out


def _commune_warnings(out: list[list[dict[str, str]]], dep: np.ndarray, com: np.ndarray) -> None:
    """A commune given with a department that is not its own."""
    for row, (code, department) in enumerate(zip(com.tolist(), dep.tolist(), strict=True)):
        if not (code and department):
            continue
        commune_dep = places.commune_department(code)
        if commune_dep is not None and commune_dep != department:
            name = places.commune_name(code) or code
            out[row].append({"field": "com", "reason": (
                f"la commune {code} ({name}) est dans le département {commune_dep}, pas dans le {department} "
                f"({places.department_name(department)}) : vérifiez le lieu")})


def _place_warnings(out: list[list[dict[str, str]]], lat: np.ndarray, lon: np.ndarray, dep: np.ndarray,
                    located: np.ndarray) -> None:
    rows = located.nonzero()[0]
    near = place_checks.near_france(lat[rows], lon[rows])
    for row in rows[~near]:
        out[row].append({"field": "lat", "reason": (
            f"le point ({lat[row]:.4f}, {lon[row]:.4f}) est hors de France (métropole et outre-mer) : "
            "vérifiez les coordonnées (latitude puis longitude)")})
    checked = rows[near & (dep[rows] != "")]
    if not len(checked):
        return
    distance = place_checks.department_distance_km(dep[checked], lat[checked], lon[checked])
    for row, km in zip(checked.tolist(), distance.tolist(), strict=True):
        if km > DEPARTMENT_MARGIN_KM:
            out[row].append({"field": "lat", "reason": (
                f"le point ({lat[row]:.4f}, {lon[row]:.4f}) est à {km:.0f} km du département {dep[row]} "
                f"({places.department_name(dep[row])}) : le lieu ou le département est faux")})


def _date_warnings(out: list[list[dict[str, str]]], year: np.ndarray, month: np.ndarray, day: np.ndarray,
                   dated: np.ndarray, data_years: tuple[int, int], today: dt.date) -> None:
    first, last = data_years
    earliest = first - YEARS_BEFORE_DATA
    # An unknown month or day counts as the first: fmax ignores NaN, and months and days start at 1.
    ordinal = year * 10000 + np.fmax(month, 1.0) * 100 + np.fmax(day, 1.0)
    tomorrow = today + dt.timedelta(days=1)
    limit = tomorrow.year * 10000 + tomorrow.month * 100 + tomorrow.day
    for row in (dated & (year < earliest)).nonzero()[0]:
        out[row].append({"field": "datetime", "reason": (
            f"année {int(year[row])} : plus de {YEARS_BEFORE_DATA} ans avant les données ({first}–{last}), "
            "l’estimation sort de ce que le modèle a vu")})
    for row in (dated & (ordinal > limit)).nonzero()[0]:
        out[row].append({"field": "datetime", "reason": (
            f"date dans le futur ({int(day[row]):02d}/{int(month[row]):02d}/{int(year[row])}) : "
            "vérifiez la date de l’accident")})
