"""What a caller says about the people involved, as features: ages, sex, safety equipment, pedestrians.

Why a module of its own
-----------------------
Callers often know who is hurt: a child, an elderly pedestrian, a motorcyclist
without a helmet, a driver not belted. The BAAC users table records the same
facts for every person of every past accident (``catu``, ``sexe``, birth year,
``secu1``), so the model can learn what they change. A caller describes some of
the people, rarely all: every feature here reads only the people described
(the youngest and oldest described, how many described children…), and
training hides people at random (:func:`core.model.fitting.mask_fields`) so
that "not described" never reads as "absent".

A person is a tuple ``(role, age, sex, equipment)``: ``role`` the BAAC
``catu`` (1 conducteur, 2 passager, 3 piéton), ``age`` in years, ``sex`` the
BAAC ``sexe`` (1 masculin, 2 féminin), ``equipment`` the 2019+ ``secu1`` code
(0 aucun équipement, 1 ceinture, 2 casque, 3 dispositif enfants, …); any of
them None when not said. ``people`` of an incident is a tuple of persons, or
None when the caller said nothing about them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np

from core import codebook

Person = tuple[int | None, int | None, int | None, int | None]

#: Ages below this are children, at or above ELDERLY_FROM elderly (the usual road-safety bands).
CHILD_UNDER: Final = 15
ELDERLY_FROM: Final = 75
#: ``secu1`` codes: no equipment, belt, helmet.
NO_EQUIPMENT, BELT, HELMET = 0, 1, 2
DRIVER, PASSENGER = 1, 2

#: The people features, in the order of :func:`people_features`' columns (NaN when nobody was described,
#: or when no described person has the fact).
PEOPLE_FEATURES: Final = (
    "people_described", "age_min", "age_max", "n_children", "n_elderly", "driver_age_min", "driver_age_max",
    "pedestrian_age_min", "pedestrian_age_max", "n_male", "n_female", "n_no_equipment", "n_belt", "n_helmet",
)


def people_features(people: Sequence[Sequence[Person] | None]) -> np.ndarray:
    """One row per incident, :data:`PEOPLE_FEATURES` columns (float32, NaN when unknown).

    Counts are over the described people (0 when some were described, none with the fact); ages are NaN when
    no described person has an age.

    Examples
    --------
    >>> rows = people_features([((3, 82, 2, None), (1, 40, 1, 1)), None])
    >>> dict(zip(PEOPLE_FEATURES, rows[0].tolist()))["pedestrian_age_max"], float(rows[1, 0])
    (82.0, nan)
    """
    out = np.full((len(people), len(PEOPLE_FEATURES)), np.nan, dtype=np.float32)
    for row, persons in enumerate(people):
        if persons is None:
            continue
        ages = [p[1] for p in persons if p[1] is not None]
        drivers = [p[1] for p in persons if p[0] == DRIVER and p[1] is not None]
        walkers = [p[1] for p in persons if p[0] == codebook.PEDESTRIAN_CATU and p[1] is not None]
        out[row] = (
            len(persons),
            min(ages, default=np.nan), max(ages, default=np.nan),
            sum(age < CHILD_UNDER for age in ages), sum(age >= ELDERLY_FROM for age in ages),
            min(drivers, default=np.nan), max(drivers, default=np.nan),
            min(walkers, default=np.nan), max(walkers, default=np.nan),
            sum(p[2] == 1 for p in persons), sum(p[2] == 2 for p in persons),
            sum(p[3] == NO_EQUIPMENT for p in persons), sum(p[3] == BELT for p in persons),
            sum(p[3] == HELMET for p in persons),
        )
    return out
