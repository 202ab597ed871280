"""The estimate's reasons in French words: which fields moved it most.

Why a module of its own
-----------------------
An operator reads "Véhicules : 1 × VL seul, 1 × Motocyclette > 125 cm 3 —
augmente le risque", not a feature index and a log-odds. :func:`top_factors`
orders the fields by their credit in the severe trees
(:meth:`core.model.trees.TreeArrays.field_credits`), leaving out the fields
the caller did not give, and words each one with the words of
:mod:`core.features.words` (the same as the dispatch desk's) and its French
name (:data:`core.incident.fields.FIELD_LABELS`). A few incidents are
explained one by one; a batch is ordered, cut and rounded with numpy, then
each field is worded for all the incidents it is shown for at once
(:class:`core.features.words.FieldWords`): a thousand incidents share a few
dozen departments, vehicle lists and codes.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np

from core.features.columns import IncidentColumns
from core.features.words import UNKNOWN_VALUE, FieldWords, describe_field
from core.incident.fields import FIELD_LABELS
from core.model.trees import CREDIT_FIELDS

TOP_FACTORS: Final = 5

#: Credits smaller than this (log-odds) are not reasons.
MIN_EFFECT: Final = 1e-3

#: Credits are shown rounded to this many decimals.
EFFECT_DECIMALS: Final = 4

#: Up to this many incidents, each one's factors are found on their own (the batch path's numpy steps cost more).
_ROW_BY_ROW: Final = 24

#: Per field (CREDIT_FIELDS order), its French name, and the start of its text; how a text ends, by whether the
#: effect raises the risk.
_LABELS: Final = tuple(FIELD_LABELS[source] for source in CREDIT_FIELDS)
_TEXT_START: Final = tuple(f"{label} : " for label in _LABELS)
_TEXT_END: Final = (" — diminue le risque", " — augmente le risque")


def rounded(values: np.ndarray, decimals: int = EFFECT_DECIMALS) -> np.ndarray:
    """``round(value, decimals)`` of every value, exactly as Python rounds (correctly rounded, half to even).

    ``rint(value * 10**decimals) / 10**decimals`` agrees with Python unless the
    scaled value lies within 1e-6 of a half (the product's rounding error, under
    1e-10 below 10**6, could move it across) or is huge or not finite: those
    few are rounded by Python.

    Examples
    --------
    >>> values = [0.82175, -1.38125, 0.12345, -2.5e-05, 0.123449999]
    >>> rounded(np.array(values)).tolist(), [round(value, 4) for value in values]
    ([0.8217, -1.3813, 0.1235, -0.0, 0.1234], [0.8217, -1.3813, 0.1235, -0.0, 0.1234])
    >>> np.round(np.array(values), 4).tolist()[:2]  # numpy's own rounding differs next to a half
    [0.8218, -1.3812]
    """
    scale = 10.0 ** decimals
    scaled = values * scale
    out = np.rint(scaled) / scale
    # NaN compares False, so it is unsure too
    unsure = ~((np.abs(scaled - np.trunc(scaled) - np.copysign(0.5, scaled)) > 1e-6) & (np.abs(scaled) < 1e6))
    if unsure.any():
        out[unsure] = [round(value, decimals) for value in values[unsure].tolist()]
    return out


def top_factors(credits: np.ndarray, columns: IncidentColumns, features: np.ndarray) -> list[list[dict[str, Any]]]:
    """Per incident, the fields that moved the estimate most, in words; fields left unknown are not listed.

    Parameters
    ----------
    credits : numpy.ndarray
        ``(incidents, fields)``: each incident's credit per field, in
        :data:`core.model.trees.CREDIT_FIELDS` order (log-odds).
    columns : IncidentColumns
        The incidents.
    features : numpy.ndarray
        Their feature rows (for the history of their places).

    Returns
    -------
    list of list of dict
        Per incident, at most :data:`TOP_FACTORS` of {field, label, value, effect, text}, largest effect
        first, effect rounded to :data:`EFFECT_DECIMALS`: the fields are taken by decreasing credit, the
        unknown ones skipped, until the credits fall under :data:`MIN_EFFECT`.

    Examples
    --------
    >>> from core.features.build import build_features
    >>> from core.features.columns import columns_from_frame
    >>> from core.features.training import training_frame
    >>> cols = columns_from_frame(training_frame(con, first_year=2020, last_year=2020).head(300))
    >>> x = build_features(cols, model.history)
    >>> credits = model.trees.field_credits(model.trees.of("severe", model.trees.leaves(x)))
    >>> batch = top_factors(credits, cols, x)
    >>> batch == [_row_factors(credits[row], cols, row, x[row]) for row in range(300)]  # the same, row by row
    True
    >>> sorted(batch[0][0])
    ['effect', 'field', 'label', 'text', 'value']
    """
    if len(credits) <= _ROW_BY_ROW:
        return [_row_factors(credits[row], columns, row, features[row]) for row in range(len(credits))]
    return _batch_factors(credits, FieldWords(columns, features))


def _factor(index: int, value: str, effect: float) -> dict[str, Any]:
    return {"field": CREDIT_FIELDS[index], "label": _LABELS[index], "value": value, "effect": effect,
            "text": f"{_TEXT_START[index]}{value}{_TEXT_END[effect > 0]}"}


def _row_factors(credits: np.ndarray, columns: IncidentColumns, row: int, features: np.ndarray
                 ) -> list[dict[str, Any]]:
    """One incident's factors, field after field."""
    factors: list[dict[str, Any]] = []
    effects = credits.tolist()
    for index in (-np.abs(credits)).argsort().tolist():
        effect = effects[index]
        if len(factors) == TOP_FACTORS or abs(effect) < MIN_EFFECT:
            break
        value = describe_field(CREDIT_FIELDS[index], columns, row, features)
        if value != UNKNOWN_VALUE:
            factors.append(_factor(index, value, round(effect, EFFECT_DECIMALS)))
    return factors


def _batch_factors(credits: np.ndarray, words: FieldWords) -> list[list[dict[str, Any]]]:
    """Many incidents' factors: chosen with numpy, then each field worded for the incidents it is shown for."""
    order = (-np.abs(credits)).argsort(axis=1)  # each row sorted on its own, as a 1-D argsort would
    ranked = np.take_along_axis(credits, order, axis=1)
    known = np.column_stack([words.known(source) for source in CREDIT_FIELDS])
    # by decreasing credit: known fields, until the first credit under MIN_EFFECT, at most TOP_FACTORS
    shown = np.take_along_axis(known, order, axis=1) & ~np.logical_or.accumulate(np.abs(ranked) < MIN_EFFECT, axis=1)
    shown &= shown.cumsum(axis=1) <= TOP_FACTORS
    rows, ranks = shown.nonzero()  # row by row, largest credit first
    fields = order[rows, ranks]
    values = np.empty(len(rows), dtype=object)
    for index in np.unique(fields).tolist():
        chosen = fields == index
        values[chosen] = np.array(words.words(CREDIT_FIELDS[index], rows[chosen]), dtype=object)
    effects = rounded(ranked[rows, ranks]).tolist()
    flat = [_factor(index, value, effect)
            for index, value, effect in zip(fields.tolist(), values.tolist(), effects, strict=True)]
    bounds = np.cumsum(shown.sum(axis=1)).tolist()
    return [flat[start:end] for start, end in zip([0, *bounds[:-1]], bounds, strict=True)]
