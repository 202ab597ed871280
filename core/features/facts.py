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
from core.features.columns import IncidentColumns, columns_from_incidents, flat_vehicles
from core.incident.parse import parse_incident

#: Facts a dispatcher would use to say "accidents like this one"; each is a small
#: code, NaN when unknown. The vehicle facts use the store's groups
#: (``has_bicycle``, ``has_two_wheeler``, ``has_hgv``) so that a query on the
#: store finds the same accidents.
KEY_FACTS: Final = ("agg", "catr", "daylight", "pedestrian", "bicycle", "two_wheeler", "heavy_goods", "obstacle")


def _any_in(vehicles: Sequence[tuple[int, ...] | None], codes: frozenset[int]) -> np.ndarray:
    """1 when an incident has a vehicle of ``codes``, 0 when not, NaN when its vehicles are unknown."""
    flat, rows, unknown = flat_vehicles(vehicles)
    hits = np.bincount(rows[np.isin(flat, list(codes))], minlength=len(vehicles))
    return np.where(unknown, np.nan, (hits > 0).astype(np.float64))


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
    lum = num["lum"]
    pedestrians = num["n_pedestrians"]
    return np.column_stack([
        num["agg"],
        num["catr"],
        np.where(np.isnan(lum), np.nan, lum <= 2),
        np.where(np.isnan(pedestrians), np.nan, pedestrians > 0),
        _any_in(columns.vehicles, codebook.BICYCLE_CATV),
        _any_in(columns.vehicles, codebook.TWO_WHEELER_CATV),
        _any_in(columns.vehicles, codebook.HGV_CATV),
        np.where(np.isnan(num["obs"]), np.nan, num["obs"] > 0),
    ])


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
