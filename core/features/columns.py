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
from typing import TYPE_CHECKING, Any

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
    """

    numeric: dict[str, np.ndarray]
    dep: np.ndarray
    com: np.ndarray
    vehicles: list[tuple[int, ...] | None]

    def __len__(self) -> int:
        return len(self.vehicles)


def columns_from_incidents(incidents: Sequence[Mapping[str, Any]]) -> IncidentColumns:
    """Stack incidents parsed by :func:`core.incident.parse.parse_incident` into columns.

    Examples
    --------
    >>> from core.incident.parse import parse_incident
    >>> cols = columns_from_incidents([parse_incident({"atm": 2}), parse_incident({})])
    >>> cols.numeric["atm"].tolist()
    [2.0, nan]
    """
    numeric = {  # None becomes NaN in a float64 array
        name: np.array(list(map(operator.itemgetter(name), incidents)), dtype=np.float64)
        for name in NUMERIC_COLUMNS
    }
    dep = np.array([i["dep"] or "" for i in incidents], dtype=object)
    com = np.array([i["com"] or "" for i in incidents], dtype=object)
    return IncidentColumns(numeric, dep, com, [i["vehicles"] for i in incidents])


def columns_from_frame(frame: pd.DataFrame) -> IncidentColumns:
    """Turn a :func:`core.features.training.training_frame` into canonical columns (NULL -> NaN / ``""``)."""
    numeric = {name: frame[name].to_numpy(dtype=np.float64, na_value=np.nan) for name in NUMERIC_COLUMNS}
    dep = frame["dep"].fillna("").to_numpy(dtype=object)
    com = frame["com"].fillna("").to_numpy(dtype=object)
    vehicles = [None if v is None else tuple(int(c) for c in v) for v in frame["vehicles"].tolist()]
    return IncidentColumns(numeric, dep, com, vehicles)


#: What the store tells about each accident, restricted to what a caller can


def flat_vehicles(vehicles: Sequence[tuple[int, ...] | None]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every vehicle of a batch in one array: its catv code, its incident's row; and which rows are unknown.

    Examples
    --------
    >>> codes, rows, unknown = flat_vehicles([(7, 33), None, (1,)])
    >>> codes.tolist(), rows.tolist(), unknown.tolist()
    ([7, 33, 1], [0, 0, 2], [False, True, False])
    """
    unknown = np.fromiter((v is None for v in vehicles), dtype=bool, count=len(vehicles))
    lengths = np.fromiter((0 if v is None else len(v) for v in vehicles), dtype=np.int64, count=len(vehicles))
    codes = np.fromiter(itertools.chain.from_iterable(v for v in vehicles if v), dtype=np.int64,
                        count=int(lengths.sum()))
    return codes, np.repeat(np.arange(len(vehicles)), lengths), unknown
