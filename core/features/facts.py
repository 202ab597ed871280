"""Key facts: the few facts a dispatcher would use to say "accidents like this one".

Why a module of its own
-----------------------
The support of an estimate ("of 100 comparable past accidents, N were
severe") and the similar accidents nearby both compare an incident with the
past on a handful of small codes, not on the model's features. The same facts
must be read from a call (here, from the canonical columns) and from the store
(its ``has_*`` groups), so they live in one place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np

from core import codebook
from core.features.columns import IncidentColumns, columns_from_incidents, vehicle_group_counts
from core.incident.parse import parse_incident

#: Facts a dispatcher would use to say "accidents like this one"; each is a small
#: code, NaN when unknown. The vehicle facts use the store's groups
#: (``has_bicycle``, ``has_two_wheeler``, ``has_hgv``) so that a query on the
#: store finds the same accidents.
KEY_FACTS: Final = ("agg", "catr", "daylight", "pedestrian", "bicycle", "two_wheeler", "heavy_goods", "obstacle")


#: The vehicle facts of KEY_FACTS, in its order, and their catv codes (no code is in two of them).
_VEHICLE_FACTS: Final = {
    "bicycle": codebook.BICYCLE_CATV, "two_wheeler": codebook.TWO_WHEELER_CATV, "heavy_goods": codebook.HGV_CATV,
}
if sum(map(len, _VEHICLE_FACTS.values())) != len(frozenset().union(*_VEHICLE_FACTS.values())):
    raise RuntimeError("a catv code belongs to two vehicle facts: one lookup table cannot hold them")
#: catv code 0..99 -> the position of its vehicle fact in _VEHICLE_FACTS (len(_VEHICLE_FACTS): none).
_CATV_FACT: Final = np.array([
    next((index for index, codes in enumerate(_VEHICLE_FACTS.values()) if code in codes), len(_VEHICLE_FACTS))
    for code in range(100)
])


def _vehicle_facts(vehicles: Sequence[tuple[int, ...] | None]) -> np.ndarray:
    """Per incident and vehicle fact: 1 when it has such a vehicle, 0 when not, NaN when its vehicles are unknown."""
    counts = vehicle_group_counts(vehicles, _CATV_FACT, groups=len(_VEHICLE_FACTS) + 1)[:, :-1]
    return np.where(np.isnan(counts), np.nan, counts > 0)


def key_facts(columns: IncidentColumns) -> np.ndarray:
    """The :data:`KEY_FACTS` of each incident, shape ``(len(columns), len(KEY_FACTS))``.

    ``daylight`` is 1 for lum 1-2 (day, dusk or dawn), 0 for lum 3-5 (night).

    Examples
    --------
    >>> from core.features.columns import columns_from_incidents
    >>> from core.incident.parse import parse_incident
    >>> key_facts(columns_from_incidents([parse_incident({"lum": 3, "vehicles": [7, 33]})])).tolist()
    [[nan, nan, 0.0, nan, 0.0, 1.0, 0.0, nan]]
    """
    num = columns.numeric
    lum, pedestrians, obs = num["lum"], num["n_pedestrians"], num["obs"]
    vehicle = _vehicle_facts(columns.vehicles)
    return np.ascontiguousarray(np.array([  # (facts, incidents) then transposed: one array built, not eight
        num["agg"],
        num["catr"],
        np.where(np.isnan(lum), np.nan, lum <= 2),
        np.where(np.isnan(pedestrians), np.nan, pedestrians > 0),
        *vehicle.T,
        np.where(np.isnan(obs), np.nan, obs > 0),
    ]).T)


def known_key_facts(incident: Mapping[str, Any] | None = None, *, parsed: Mapping[str, Any] | None = None
                    ) -> dict[str, int]:
    """The key facts (:data:`KEY_FACTS`) the incident tells, as 0/1 or codes.

    Give the raw ``incident``, or its ``parsed`` form when it is at hand.

    Examples
    --------
    >>> known_key_facts({"agg": 2, "lum": 3, "vehicles": [7]})
    {'agg': 2, 'daylight': 0, 'bicycle': 0, 'two_wheeler': 0, 'heavy_goods': 0}
    """
    facts = key_facts(columns_from_incidents([parsed or parse_incident(incident)]))[0]
    return {name: int(value) for name, value in zip(KEY_FACTS, facts, strict=True) if not np.isnan(value)}


_FACT_WORDS: Final[dict[str, tuple[str, str]]] = {
    "daylight": ("de nuit", "de jour (plein jour, crépuscule ou aube)"),
    "pedestrian": ("sans piéton", "piéton impliqué"),
    "bicycle": ("sans vélo", "vélo impliqué"),
    "two_wheeler": ("sans deux-roues motorisé", "deux-roues motorisé impliqué"),
    "heavy_goods": ("sans poids lourd", "poids lourd impliqué"),
    "obstacle": ("sans obstacle fixe heurté", "obstacle fixe heurté"),
}


def describe_key_facts(facts: Mapping[str, int]) -> str:
    """Known key facts in words, as the comparison uses them.

    Examples
    --------
    >>> describe_key_facts({"agg": 1, "catr": 3, "daylight": 0, "pedestrian": 1})
    'Hors agglomération, Route Départementale, de nuit, piéton impliqué'
    >>> describe_key_facts({})
    'aucun fait clé connu'
    """
    words = []
    for name, value in facts.items():
        if name in ("agg", "catr"):
            words.append(codebook.label(name, value))
        else:
            words.append(_FACT_WORDS[name][int(bool(value))])
    return ", ".join(words) if words else "aucun fait clé connu"
