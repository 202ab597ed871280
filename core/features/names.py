"""The names of the model's features, and the incident field each one comes from.

Why a module of its own
-----------------------
Training writes these names into the model card, loading checks them, the
tree walker (:mod:`core.model.trees`) credits each feature to its incident
field and the explanations read a feature row by name. All of them need the
names, none of them needs the code that computes the features: keeping the
vocabulary here, with nothing heavier than the codebook below it, lets the
model package read it without importing the place history or the store.
"""

from __future__ import annotations

from typing import Final

from core import codebook
from core.features.people import PEOPLE_FEATURES

#: Place levels of the history: store column -> short French name for explanations.
HISTORY_LEVELS: Final[dict[str, str]] = {
    "dep": "département",
    "com": "commune",
    "h3_6": "secteur (~36 km²)",
    "h3_7": "quartier (~5 km²)",
}
#: The history levels that are H3 cells (the others are INSEE codes).
CELL_LEVELS: Final = ("h3_6", "h3_7")
#: Prefixes of the two history windows: every history year, then the recent years alone.
WINDOWS: Final = ("", "recent_")

#: catv code -> vehicle kind used by the features (codes absent here count as "other").
VEHICLE_KINDS: Final[dict[str, frozenset[int]]] = {
    "bicycle": codebook.BICYCLE_CATV,
    "personal_transporter": frozenset({50, 60}),
    "moped": frozenset({2, 30, 4}),
    "motorcycle_125": frozenset({31, 32}),
    "motorcycle_heavy": frozenset({33, 34, 5, 6}),
    "three_wheeler_quad": frozenset({35, 36, 41, 42, 43}),
    "car": frozenset({3, 7, 8, 9}),
    "van": frozenset({10, 11, 12}),
    "heavy_goods": codebook.HGV_CATV,
    "bus_coach": frozenset({37, 38, 18}),
    "rail": frozenset({39, 40, 19}),
    "tractor_special": frozenset({20, 21}),
}
#: The vehicle kinds counted by the features, "other" last.
KIND_NAMES: Final = (*VEHICLE_KINDS, "other")

#: History features, by level, then window, then what is measured.
HISTORY_FEATURES: Final = tuple(
    f"{level}_{window}{what}"
    for level in HISTORY_LEVELS for window in WINDOWS for what in ("log_count", "severe_ratio", "fatal_ratio")
)

#: Names of the columns of :func:`core.features.build.build_features`, in order.
FEATURE_NAMES: Final = (
    "hour", "weekday", "month", "weekend", "recording_period",
    "lum", "atm", "surf", "agg", "int", "col", "catr", "vma", "obs", "obstacle_hit",
    "lat", "lon", "overseas",
    "n_people", "n_pedestrians", "n_occupants",
    "n_vehicles", *(f"n_{kind}" for kind in KIND_NAMES), "heaviest_mass", "lightest_mass", "vulnerable_vs_heavy",
    *PEOPLE_FEATURES,
    *HISTORY_FEATURES,
)

#: Feature name -> its column in the feature matrix.
FEATURE_INDEX: Final = {name: index for index, name in enumerate(FEATURE_NAMES)}
#: The first history column: the history features come last, in the order of HISTORY_FEATURES.
HISTORY_START: Final = len(FEATURE_NAMES) - len(HISTORY_FEATURES)
if FEATURE_NAMES[HISTORY_START:] != HISTORY_FEATURES:
    raise RuntimeError("the history features must come last in FEATURE_NAMES, in the order of HISTORY_FEATURES")

#: Feature -> the incident field it comes from (explanations are summed per field).
FEATURE_SOURCE: Final[dict[str, str]] = {
    **dict.fromkeys(("hour", "weekday", "month", "weekend", "recording_period"), "datetime"),
    **{name: name for name in ("lum", "atm", "surf", "agg", "int", "col", "catr", "vma", "obs")},
    "obstacle_hit": "obs",
    **dict.fromkeys(("lat", "lon", "overseas"), "place"),
    "n_people": "n_people", "n_occupants": "n_people", "n_pedestrians": "n_pedestrians",
    **dict.fromkeys(
        ("n_vehicles", *(f"n_{kind}" for kind in KIND_NAMES), "heaviest_mass", "lightest_mass",
         "vulnerable_vs_heavy"), "vehicles"),
    **dict.fromkeys(PEOPLE_FEATURES, "people"),
    **{name: ("place" if name.startswith("h3_") else name.split("_")[0]) for name in HISTORY_FEATURES},
}
