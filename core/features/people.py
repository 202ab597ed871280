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
DRIVER: Final = 1

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
    described = np.array([persons is not None for persons in people], dtype=bool)
    counts = np.fromiter((len(persons) if persons is not None else 0 for persons in people), dtype=np.int64,
                         count=len(people))
    flat = [fact if fact is not None else np.nan for persons in people if persons for person in persons
            for fact in person]
    facts = np.array(flat, dtype=np.float64).reshape(-1, 4)
    rows = np.repeat(np.arange(len(people)), counts)
    role, age, sex, equipment = facts.T

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(rows[mask], minlength=len(people)).astype(np.float64)

    def extreme(values: np.ndarray, mask: np.ndarray, reduce: np.ufunc, start: float) -> np.ndarray:
        result = np.full(len(people), start)
        reduce.at(result, rows[mask], values[mask])
        return np.where(np.isinf(result), np.nan, result)

    with np.errstate(invalid="ignore"):  # NaN facts compare False: not counted, as a fact not said
        aged = ~np.isnan(age)
        driver, walker = aged & (role == DRIVER), aged & (role == codebook.PEDESTRIAN_CATU)
        columns = (
            counts.astype(np.float64),
            extreme(age, aged, np.minimum, np.inf), extreme(age, aged, np.maximum, -np.inf),
            count(age < CHILD_UNDER), count(age >= ELDERLY_FROM),
            extreme(age, driver, np.minimum, np.inf), extreme(age, driver, np.maximum, -np.inf),
            extreme(age, walker, np.minimum, np.inf), extreme(age, walker, np.maximum, -np.inf),
            count(sex == 1), count(sex == 2),
            count(equipment == NO_EQUIPMENT), count(equipment == BELT), count(equipment == HELMET),
        )
    out = np.stack(columns, axis=1).astype(np.float32)
    out[~described] = np.nan
    return out
