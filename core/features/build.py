"""Incident -> model features: one builder for training rows and for a single call.

Why a module of its own
-----------------------
A dispatcher's estimate must be computed the same way as during training,
otherwise the model sees at prediction time a world it was never shown. So one
function, :func:`build_features`, turns canonical incident columns
(:mod:`core.features.columns`, from a call or from the store) and a place
history (:mod:`core.features.history`) into the float32 feature matrix whose
columns are :data:`core.features.names.FEATURE_NAMES`: time, road and weather
codes, place, people, vehicles by kind and mass, and the history of the place.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np

from core import codebook
from core.features.columns import IncidentColumns, vehicle_group_counts
from core.features.history import COUNTS, PlaceHistory, history_keys, lookup_counts
from core.features.names import (
    FEATURE_NAMES,
    HISTORY_LEVELS,
    HISTORY_START,
    KIND_NAMES,
    VEHICLE_KINDS,
    WINDOWS,
)
from core.features.people import PEOPLE_FEATURES, people_features

# Pseudo-counts of the smoothed observed/expected ratios (in expected events):
# a place with few accidents stays close to the national rate.
SEVERE_PRIOR: Final = 5.0
FATAL_PRIOR: Final = 1.0
#: Both priors, to broadcast over counts shaped (window, severe/fatal, row, level).
_RATIO_PRIORS: Final = np.array([SEVERE_PRIOR, FATAL_PRIOR])[None, :, None, None]

# Rough mass class, to describe the most and least protected parties of an accident.
_KIND_MASS: Final[dict[str, float]] = {
    "bicycle": 1, "personal_transporter": 1, "moped": 2, "motorcycle_125": 2, "motorcycle_heavy": 2,
    "three_wheeler_quad": 2, "car": 3, "van": 4, "tractor_special": 5, "heavy_goods": 6, "bus_coach": 6,
    "rail": 7, "other": np.nan,
}
_CATV_KIND: Final[dict[int, int]] = {
    code: KIND_NAMES.index(kind) for kind, codes in VEHICLE_KINDS.items() for code in codes
}
_OTHER_KIND: Final = len(KIND_NAMES) - 1
#: catv code -> kind index, for every code 0..99 (codes not listed count as "other").
_CATV_KIND_ARRAY: Final = np.array([_CATV_KIND.get(code, _OTHER_KIND) for code in range(100)])
_KIND_MASS_ARRAY: Final = np.array([_KIND_MASS[k] for k in KIND_NAMES])
#: The feature counting each vehicle kind, in KIND_NAMES order.
_KIND_FEATURES: Final = tuple(f"n_{kind}" for kind in KIND_NAMES)
#: Incident fields that are features as they are, under their own name.
_COPIED_FIELDS: Final = (
    "weekday", "month", "lum", "atm", "surf", "agg", "int", "col", "catr", "vma", "obs", "lat", "lon", "n_people",
    "n_pedestrians",
)

# Hospitalisation recording changed in 2018 (see PROVENANCE); 2019 brought the new file layout.
RECORDING_PERIODS: Final = ((codebook.HOSPITALISATION_BREAK_YEAR, 1.0), (2019, 2.0))
CURRENT_RECORDING_PERIOD: Final = 2.0


def recording_period(year: np.ndarray) -> np.ndarray:
    """0 before 2018, 1 in 2018, 2 from 2019; an undated incident is taken as current (2).

    Examples
    --------
    >>> recording_period(np.array([2005.0, 2018.0, 2020.0, np.nan])).tolist()
    [0.0, 1.0, 2.0, 2.0]
    """
    period = np.zeros(len(year))
    for start, value in RECORDING_PERIODS:
        period[year >= start] = value
    period[np.isnan(year)] = CURRENT_RECORDING_PERIOD
    return period


def vehicle_kind_counts(vehicles: Sequence[tuple[int, ...] | None]) -> np.ndarray:
    """Count vehicles per kind (columns in ``KIND_NAMES`` order); a NaN row when unknown.

    Examples
    --------
    >>> vehicle_kind_counts([(7, 7, 33), None])[:, [KIND_NAMES.index("car"), KIND_NAMES.index("moped")]].tolist()
    [[2.0, 0.0], [nan, nan]]
    """
    return vehicle_group_counts(vehicles, _CATV_KIND_ARRAY, groups=len(KIND_NAMES))


def _is_overseas(dep: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """1 overseas, 0 metropolitan France, NaN when neither department nor coordinates are known."""
    from_dep = np.array([np.nan if not d else float(len(d) == 3) for d in dep.tolist()])
    # Metropolitan France with Corsica lies within 41-51.5 N, 5.5 W-10 E.
    metro_box = (lat >= 41.0) & (lat <= 51.5) & (lon >= -5.5) & (lon <= 10.0)
    from_coords = np.where(np.isnan(lat), np.nan, ~metro_box)
    return np.where(np.isnan(from_dep), from_coords, from_dep)


def build_features(columns: IncidentColumns, history: PlaceHistory) -> np.ndarray:
    """The feature matrix of a batch of incidents (float32, NaN = unknown).

    Parameters
    ----------
    columns : IncidentColumns
        From :func:`core.features.columns.columns_from_incidents` or :func:`~core.features.columns.columns_from_frame`.
    history : PlaceHistory
        Place counts of the history years (see the module notes).

    Returns
    -------
    numpy.ndarray
        Shape ``(len(columns), len(FEATURE_NAMES))``.

    Examples
    --------
    >>> from core.incident.parse import parse_incident
    >>> from core.features.columns import columns_from_incidents
    >>> x = build_features(columns_from_incidents([parse_incident({"vehicles": [7, 1]})]), model.history)
    >>> float(x[0, FEATURE_NAMES.index("n_bicycle")])
    1.0
    """
    out = np.empty((len(columns), len(FEATURE_NAMES)), dtype=np.float32)
    incident = _incident_features(columns)
    # One (features, rows) array, cast to float32 in one assignment, instead of a write per column.
    out[:, :HISTORY_START] = np.array([incident[name] for name in FEATURE_NAMES[:HISTORY_START]]).T
    out[:, HISTORY_START:] = _history_features(columns, history)
    return out


def _incident_features(columns: IncidentColumns) -> dict[str, np.ndarray]:
    """The features told by the incident itself (all but the history), by name, float64 or bool."""
    num = columns.numeric
    minute, weekday, obs = num["minute"], num["weekday"], num["obs"]
    return {
        **{name: num[name] for name in _COPIED_FIELDS},
        "hour": num["hour"] + np.where(np.isnan(minute), 0.0, minute) / 60.0,
        "weekend": np.where(np.isnan(weekday), np.nan, weekday >= 5),
        "recording_period": recording_period(num["year"]),
        "obstacle_hit": np.where(np.isnan(obs), np.nan, obs > 0),
        "overseas": _is_overseas(columns.dep, num["lat"], num["lon"]),
        "n_occupants": num["n_people"] - num["n_pedestrians"],
        **_vehicle_features(columns.vehicles, num["n_pedestrians"]),
        **dict(zip(PEOPLE_FEATURES, people_features(columns.described()).T, strict=True)),
    }


def _vehicle_features(vehicles: Sequence[tuple[int, ...] | None], pedestrians: np.ndarray) -> dict[str, np.ndarray]:
    """Vehicles by kind and in all, the heaviest and lightest mass class, a vulnerable party against a heavy one."""
    kinds = vehicle_kind_counts(vehicles)
    present = np.where(kinds > 0, _KIND_MASS_ARRAY, np.nan)  # NaN rows stay NaN: unknown vehicles
    heaviest = np.fmax.reduce(present, axis=1)
    lightest = np.fmin.reduce(present, axis=1)
    vulnerable = (pedestrians > 0) | (lightest <= 2)  # NaN compares False
    return {
        "n_vehicles": kinds.sum(axis=1),
        **dict(zip(_KIND_FEATURES, kinds.T, strict=True)),
        "heaviest_mass": heaviest,
        "lightest_mass": lightest,
        "vulnerable_vs_heavy": np.where(np.isnan(kinds[:, 0]), np.nan, vulnerable & (heaviest >= 4)),
    }


def _history_features(columns: IncidentColumns, history: PlaceHistory) -> np.ndarray:
    """The history features of each incident's places, in the order of HISTORY_FEATURES."""
    num = columns.numeric
    n_rows = len(columns)
    keys = history_keys(columns.dep, columns.com, num["lat"], num["lon"])
    counts = lookup_counts(history, keys, num["year"]).reshape(len(WINDOWS), len(COUNTS), n_rows, len(HISTORY_LEVELS))
    observed, expected = counts[:, 1:3], counts[:, 3:5]  # COUNTS order; each (window, severe/fatal, row, level)
    block = np.concatenate([  # (window, what, row, level): log count, smoothed severe and fatal ratios
        np.log1p(counts[:, :1]), (observed + _RATIO_PRIORS) / (expected + _RATIO_PRIORS),
    ], axis=1)
    return block.transpose(2, 3, 0, 1).reshape(n_rows, -1)  # the order of HISTORY_FEATURES: level, window, what
