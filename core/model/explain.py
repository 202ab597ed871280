"""The estimate's reasons in French words: which fields moved it most.

Why a module of its own
-----------------------
An operator reads "Véhicules : 1 × VL seul, 1 × Motocyclette > 125 cm 3 —
augmente le risque", not a feature index and a log-odds. :func:`top_factors`
orders the fields by their credit in the severe trees
(:meth:`core.model.trees.TreeArrays.field_credits`), leaving out the fields
the caller did not give, and words each one with
:func:`core.features.words.describe_field` (the same words as the dispatch
desk's) and its French name (:data:`core.incident.fields.FIELD_LABELS`).
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np

from core.features.columns import IncidentColumns
from core.features.words import UNKNOWN_VALUE, describe_field
from core.incident.fields import FIELD_LABELS
from core.model.trees import CREDIT_FIELDS

TOP_FACTORS: Final = 5


def top_factors(by_source: np.ndarray, columns: IncidentColumns, row: int,
                features: np.ndarray) -> list[dict[str, Any]]:
    """The fields that moved the estimate most, in words; fields left unknown are not listed.

    Parameters
    ----------
    by_source : numpy.ndarray
        The incident's credit per field, in :data:`core.model.trees.CREDIT_FIELDS` order (log-odds).
    columns : IncidentColumns
        The incidents.
    row : int
        Which incident.
    features : numpy.ndarray
        Its feature row (for the history of its place).

    Returns
    -------
    list of dict
        At most :data:`TOP_FACTORS` of {field, label, value, effect, text}, largest effect first.
    """
    factors: list[dict[str, Any]] = []
    effects = by_source.tolist()
    for index in (-np.abs(by_source)).argsort().tolist():
        effect = effects[index]
        if len(factors) == TOP_FACTORS or abs(effect) < 1e-3:
            break
        source = CREDIT_FIELDS[index]
        value = describe_field(source, columns, row, features)
        if value == UNKNOWN_VALUE:
            continue
        verb = "augmente" if effect > 0 else "diminue"
        factors.append({
            "field": source, "label": FIELD_LABELS[source], "value": value, "effect": round(effect, 4),
            "text": f"{FIELD_LABELS[source]} : {value} — {verb} le risque",
        })
    return factors

