"""The canonical incident: columns of plain codes, NaN for "unknown", the one input of the features.

Why a module of its own
-----------------------
A dispatcher's estimate must be computed from exactly what a caller can say,
and computed the same way as during training, otherwise the model sees at
prediction time a world it was never shown. So there is one canonical
"incident" representation, :class:`IncidentColumns`, fed by two adapters:
:func:`columns_from_incidents` stacks incidents parsed by
:func:`core.incident.parse.parse_incident` (a call, a line of
``python -m core predict``), and :func:`columns_from_frame` turns the rows of
:func:`core.features.training.training_frame` (the store) into the same columns.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from core.incident.fields import NUMERIC_COLUMNS

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class IncidentColumns:
    """A batch of incidents in canonical form, the single input of :func:`core.features.build.build_features`.

    Attributes
    ----------
    numeric : dict[str, numpy.ndarray]
        One float64 array per name of :data:`core.incident.fields.NUMERIC_COLUMNS`, NaN when unknown.
    dep, com : numpy.ndarray
        INSEE codes as str, ``""`` when unknown.
    vehicles : list
        Per incident, a tuple of ``catv`` codes, or None when unknown.
    people : list, optional
        Per incident, the people described (:mod:`core.features.people`: ``(role, age, sex, equipment)`` tuples),
        or None when nobody was; None for the whole batch when no incident describes anyone.
    """

    numeric: dict[str, np.ndarray]
    dep: np.ndarray
    com: np.ndarray
    vehicles: list[tuple[int, ...] | None]
    people: list[tuple[tuple[int | None, ...], ...] | None] | None = None

    def __len__(self) -> int:
        return len(self.vehicles)

    def described(self) -> list[tuple[tuple[int | None, ...], ...] | None]:
        """Per incident, its people, or None (every row None when the batch describes nobody)."""
        return self.people if self.people is not None else [None] * len(self)

    def take(self, rows: np.ndarray | slice) -> IncidentColumns:
        """The incidents at ``rows`` (a boolean mask, positions or a slice), in that order."""
        if isinstance(rows, slice):
            picked = range(len(self))[rows]
        else:
            rows = np.asarray(rows)
            picked = np.flatnonzero(rows) if rows.dtype == bool else rows
        return IncidentColumns({k: v[rows] for k, v in self.numeric.items()}, self.dep[rows], self.com[rows],
                               [self.vehicles[i] for i in picked],
                               None if self.people is None else [self.people[i] for i in picked])


#: A parsed incident's numeric fields as a tuple, in NUMERIC_COLUMNS order.
_NUMERIC_VALUES: Final = operator.itemgetter(*NUMERIC_COLUMNS)


def columns_from_incidents(incidents: Sequence[Mapping[str, Any]]) -> IncidentColumns:
    """Stack incidents parsed by :func:`core.incident.parse.parse_incident` into columns.

    Examples
    --------
    >>> from core.incident.parse import parse_incident
    >>> cols = columns_from_incidents([parse_incident({"atm": 2}), parse_incident({})])
    >>> cols.numeric["atm"].tolist()
    [2.0, nan]
    """
    # One (incidents, fields) matrix, None becoming NaN; each column is a view of it.
    matrix = np.array(list(map(_NUMERIC_VALUES, incidents)), dtype=np.float64)
    matrix = matrix.reshape(len(incidents), len(NUMERIC_COLUMNS))
    numeric = dict(zip(NUMERIC_COLUMNS, matrix.T, strict=True))
    dep = np.array([i["dep"] or "" for i in incidents], dtype=object)
    com = np.array([i["com"] or "" for i in incidents], dtype=object)
    people = [i.get("people") for i in incidents]
    return IncidentColumns(numeric, dep, com, [i["vehicles"] for i in incidents],
                           people if any(p is not None for p in people) else None)


def columns_from_frame(frame: pd.DataFrame) -> IncidentColumns:
    """Turn a :func:`core.features.training.training_frame` into canonical columns (NULL -> NaN / ``""``)."""
    numeric = {name: frame[name].to_numpy(dtype=np.float64, na_value=np.nan) for name in NUMERIC_COLUMNS}
    dep = frame["dep"].fillna("").to_numpy(dtype=object)
    com = frame["com"].fillna("").to_numpy(dtype=object)
    vehicles = [None if v is None else tuple(int(c) for c in v) for v in frame["vehicles"].tolist()]
    people = None
    if "people" in frame.columns:  # the store's users as a caller would describe them (training_frame)
        people = [None if p is None else tuple(map(_person, p)) for p in frame["people"].tolist()]
    return IncidentColumns(numeric, dep, com, vehicles, people)


def _person(stored: Mapping[str, Any]) -> tuple[int | None, ...]:
    """A user row of the store as :mod:`core.features.people` reads a person (None for a missing value)."""
    return tuple(None if stored[key] is None else int(stored[key]) for key in ("role", "age", "sex", "equipment"))


def flat_vehicles(vehicles: Sequence[tuple[int, ...] | None]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every vehicle of a batch in one array: its catv code, its incident's row; and which rows are unknown.

    Examples
    --------
    >>> codes, rows, unknown = flat_vehicles([(7, 33), None, (1,)])
    >>> codes.tolist(), rows.tolist(), unknown.tolist()
    ([7, 33, 1], [0, 0, 2], [False, True, False])
    """
    lengths = np.array([-1 if v is None else len(v) for v in vehicles], dtype=np.int64)
    unknown = lengths < 0
    lengths[unknown] = 0
    codes = np.fromiter(itertools.chain.from_iterable(filter(None, vehicles)), dtype=np.int64,
                        count=int(lengths.sum()))
    return codes, np.arange(len(vehicles)).repeat(lengths), unknown


def vehicle_group_counts(vehicles: Sequence[tuple[int, ...] | None], group_of_code: np.ndarray, *,
                         groups: int) -> np.ndarray:
    """Count each incident's vehicles per group; a NaN row when its vehicles are unknown.

    Parameters
    ----------
    vehicles : sequence
        Per incident, a tuple of ``catv`` codes, or None when unknown.
    group_of_code : numpy.ndarray
        The group (0 to ``groups - 1``) of every ``catv`` code 0..99, indexed by
        code; codes outside that range count as the group of the nearest end.
    groups : int
        How many groups.

    Returns
    -------
    numpy.ndarray
        float64, shape ``(len(vehicles), groups)``.

    Examples
    --------
    >>> two_wheels = np.array([int(code in (1, 2, 33)) for code in range(100)])
    >>> vehicle_group_counts([(7, 7, 33), None], two_wheels, groups=2).tolist()
    [[2.0, 1.0], [nan, nan]]
    """
    codes, rows, unknown = flat_vehicles(vehicles)
    code_groups = group_of_code.take(codes, mode="clip")  # "clip": a code beyond either end reads that end
    counts = np.bincount(rows * groups + code_groups, minlength=len(vehicles) * groups)
    counts = counts.astype(np.float64).reshape(len(vehicles), groups)
    counts[unknown] = np.nan
    return counts
