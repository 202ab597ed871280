"""How good and how honest a probability is: discrimination, calibration, alert thresholds.

Why a module of its own
-----------------------
Training scores candidates and the test year with these figures, and the
calibration maps fitted here are applied at every prediction. The maps are
stored as plain JSON breakpoints in the card (not a pickled scikit-learn
object), so applying one needs only numpy: :func:`apply_calibration`
interpolates linearly between breakpoints exactly as scikit-learn's isotonic
regression does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np

ECE_BINS: Final = 10

# The alert-threshold rules: every threshold of the card, and which of them cut the risk bands.
#: Recall rules: the highest threshold that still flags this share of the positive incidents.
RECALL_RULES: Final[dict[str, float]] = {"recall_80": 0.80, "recall_95": 0.95}
#: Precision rules: the lowest threshold at which this share of the flagged incidents are positive.
PRECISION_RULES: Final[dict[str, float]] = {"precision_75": 0.75}
#: Used for a precision rule that no threshold reaches (the card then says ``"fallback": "best_f1"``).
PRECISION_FALLBACK: Final = "best_f1"
#: The risk bands of p_severe: "low" below ``medium_from``, "medium" up to ``high_from``, "high" from it.
#: Below recall_95, "low" holds at most 5 % of the validation year's severe accidents; from
#: precision_75, at least 3 in 4 validation accidents of "high" were severe.
BAND_RULES: Final[dict[str, str]] = {"medium_from": "recall_95", "high_from": "precision_75"}
BAND_KEYS: Final = ("low", "medium", "high")


def expected_calibration_error(y: np.ndarray, p: np.ndarray, *, bins: int = ECE_BINS) -> float:
    """Expected calibration error over ``bins`` equal-width probability bins.

    Examples
    --------
    >>> expected_calibration_error(np.array([0, 1, 1, 0]), np.array([0.0, 1.0, 1.0, 0.0]))
    0.0
    """
    return float(sum(row["n"] / len(p) * abs(row["mean_predicted"] - row["observed"])
                     for row in calibration_table(y, p, bins=bins) if row["n"]))


def calibration_table(y: np.ndarray, p: np.ndarray, *, bins: int = ECE_BINS) -> list[dict[str, float]]:
    """Per equal-width bin: its range, number of incidents, mean predicted and observed share."""
    index = np.minimum((p * bins).astype(int), bins - 1)
    table = []
    for b in range(bins):
        rows = index == b
        table.append({
            "low": b / bins, "high": (b + 1) / bins, "n": int(rows.sum()),
            "mean_predicted": float(p[rows].mean()) if rows.any() else None,
            "observed": float(y[rows].mean()) if rows.any() else None,
        })
    return table


def binary_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float | None]:
    """ROC-AUC, Brier score, log loss, ECE, observed and mean predicted share; None where undefined.

    Examples
    --------
    >>> binary_metrics(np.array([], dtype=int), np.array([]))["observed"] is None
    True
    """
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

    y = y.astype(int)
    both = 0 < y.sum() < len(y)
    return {
        "n": int(len(y)),
        "observed": float(y.mean()) if len(y) else None,
        "mean_predicted": float(p.mean()) if len(y) else None,
        "auc": float(roc_auc_score(y, p)) if both else None,
        "brier": float(brier_score_loss(y, p)) if len(y) else None,
        "log_loss": float(log_loss(y, np.clip(p, 1e-6, 1 - 1e-6), labels=[0, 1])) if len(y) else None,
        "ece": expected_calibration_error(y, p) if len(y) else None,
    }


def threshold_metrics(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, float]:
    """Share flagged, precision and recall when flagging ``p >= threshold``."""
    flagged = p >= threshold
    hits = (flagged & (y == 1)).sum()
    return {
        "threshold": float(threshold),
        "flagged_share": float(flagged.mean()),
        "precision": float(hits / flagged.sum()) if flagged.any() else None,
        "recall": float(hits / max((y == 1).sum(), 1)),
    }


def choose_thresholds(y: np.ndarray, p: np.ndarray) -> dict[str, dict[str, Any]]:
    """Alert thresholds on calibrated validation predictions, each with :func:`threshold_metrics`.

    ``best_f1`` maximises F1. Each rule of :data:`RECALL_RULES` (``recall_80``,
    ``recall_95``) is the highest threshold that still flags that share of the
    positive incidents. Each rule of :data:`PRECISION_RULES` (``precision_75``)
    is the lowest threshold at which that share of the flagged incidents are
    positive; when no threshold reaches it, the rule takes the ``best_f1``
    threshold and says so with ``"fallback": "best_f1"``. Thresholds are cut
    only between distinct probability values (``p >= threshold`` is flagged).

    Examples
    --------
    >>> y = np.array([1, 1, 0, 1, 0, 0, 1, 0, 0, 0])
    >>> p = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05])
    >>> chosen = choose_thresholds(y, p)
    >>> chosen["recall_95"]["threshold"], chosen["precision_75"]["threshold"], chosen["precision_75"]["precision"]
    (0.3, 0.6, 0.75)
    """
    order = np.argsort(-p, kind="stable")
    sorted_p, sorted_y = p[order], y[order].astype(float)
    hits = np.cumsum(sorted_y)
    flagged = np.arange(1, len(p) + 1)
    positives = max(sorted_y.sum(), 1.0)
    # Only cut between distinct probability values.
    last_of_value = np.r_[sorted_p[1:] != sorted_p[:-1], True]
    precision, recall = hits / flagged, hits / positives
    f1 = np.where(last_of_value, 2 * precision * recall / np.maximum(precision + recall, 1e-12), -1)
    best = int(np.argmax(f1))
    chosen: dict[str, dict[str, Any]] = {"best_f1": threshold_metrics(y, p, float(sorted_p[best]))}
    for name, target in RECALL_RULES.items():
        # The first cut (highest threshold) reaching the recall; every incident flagged if none does.
        reaching = np.flatnonzero(last_of_value & (recall >= target))
        at_recall = int(reaching[0]) if len(reaching) else len(p) - 1
        chosen[name] = threshold_metrics(y, p, float(sorted_p[at_recall]))
    for name, target in PRECISION_RULES.items():
        # The last cut (lowest threshold, most incidents flagged) still reaching the precision.
        reaching = np.flatnonzero(last_of_value & (precision >= target))
        if len(reaching):
            chosen[name] = threshold_metrics(y, p, float(sorted_p[int(reaching[-1])]))
        else:
            chosen[name] = {**chosen[PRECISION_FALLBACK], "fallback": PRECISION_FALLBACK}
    return chosen


def band_cutoffs(thresholds: Mapping[str, Mapping[str, Any]]) -> tuple[float, float]:
    """``(medium_from, high_from)`` of the risk bands, from one target's :func:`choose_thresholds`.

    ``medium_from`` is the ``recall_95`` threshold and ``high_from`` the
    ``precision_75`` one (:data:`BAND_RULES`). Should the second fall below the
    first, "medium" is empty: both cut-offs are then the lower one.

    Examples
    --------
    >>> band_cutoffs({"recall_95": {"threshold": 0.2}, "precision_75": {"threshold": 0.6}})
    (0.2, 0.6)
    >>> band_cutoffs({"recall_95": {"threshold": 0.5}, "precision_75": {"threshold": 0.4}})
    (0.4, 0.4)
    """
    medium_from = float(thresholds[BAND_RULES["medium_from"]]["threshold"])
    high_from = float(thresholds[BAND_RULES["high_from"]]["threshold"])
    return min(medium_from, high_from), high_from


def band_figures(y: np.ndarray, p: np.ndarray, *, medium_from: float, high_from: float
                 ) -> dict[str, dict[str, Any]]:
    """Per risk band: probability range, accidents, share of accidents, observed positive rate, share of positives.

    "low" is ``p < medium_from``, "medium" ``medium_from <= p < high_from``,
    "high" ``p >= high_from``. ``observed`` is None for an empty band.

    Examples
    --------
    >>> y = np.array([0, 0, 1, 0, 1, 1, 1, 0])
    >>> p = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 0.8, 0.9])
    >>> figures = band_figures(y, p, medium_from=0.3, high_from=0.7)
    >>> [(figures[b]["n"], figures[b]["share"], figures[b]["observed"]) for b in BAND_KEYS]
    [(2, 0.25, 0.0), (3, 0.375, 0.6666666666666666), (3, 0.375, 0.6666666666666666)]
    """
    y = y.astype(int)
    rows = {"low": p < medium_from, "medium": (p >= medium_from) & (p < high_from), "high": p >= high_from}
    edges = {"low": (0.0, medium_from), "medium": (medium_from, high_from), "high": (high_from, 1.0)}
    positives = max(int(y.sum()), 1)
    figures = {}
    for key in BAND_KEYS:
        in_band = rows[key]
        figures[key] = {
            "from": float(edges[key][0]), "to": float(edges[key][1]), "n": int(in_band.sum()),
            "share": float(in_band.mean()) if len(p) else None,
            "observed": float(y[in_band].mean()) if in_band.any() else None,
            "share_of_positives": float(y[in_band].sum() / positives),
        }
    return figures


# --------------------------------------------------------------------------- #
# Calibration (isotonic, stored as JSON numbers)
# --------------------------------------------------------------------------- #


def fit_isotonic(y: np.ndarray, p: np.ndarray, *, floor: float = 0.0) -> dict[str, list[float]]:
    """Fit an increasing map raw probability -> observed share; returns its breakpoints.

    ``floor`` keeps the map within [floor, 1 - floor]: an end block without any positive (or negative)
    accident would otherwise map a range of probabilities to exactly 0 (or 1).
    """
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(y_min=floor, y_max=1.0 - floor, out_of_bounds="clip").fit(p, y.astype(float))
    return {"x": [float(v) for v in iso.X_thresholds_], "y": [float(v) for v in iso.y_thresholds_]}


def apply_calibration(calibrator: Mapping[str, Sequence[float]], p: np.ndarray) -> np.ndarray:
    """Apply a map from :func:`fit_isotonic` (linear between breakpoints, as scikit-learn does)."""
    return np.interp(p, calibrator["x"], calibrator["y"])


def recalibrate_targets(maps: Mapping[str, Mapping[str, Sequence[float]]], p_severe: np.ndarray,
                        p_fatal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Calibrated probabilities mapped once more (the card's eCall maps), with p_fatal <= p_severe.

    Examples
    --------
    >>> maps = {"severe": {"x": [0.0, 1.0], "y": [0.0, 0.5]}, "fatal": {"x": [0.0, 1.0], "y": [0.0, 1.0]}}
    >>> [v.tolist() for v in recalibrate_targets(maps, np.array([0.6]), np.array([0.4]))]
    [[0.3], [0.3]]
    """
    severe = apply_calibration(maps["severe"], p_severe)
    return severe, np.minimum(severe, apply_calibration(maps["fatal"], p_fatal))


def calibrate_targets(calibrators: Mapping[str, Mapping[str, Sequence[float]]], raw_severe: np.ndarray,
                      raw_fatal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Calibrated p_severe and p_fatal, with p_fatal <= p_severe.

    Examples
    --------
    >>> identity = {"x": [0.0, 1.0], "y": [0.0, 1.0]}
    >>> calibrate_targets({"severe": identity, "fatal": identity}, np.array([0.2]), np.array([0.3]))
    (array([0.2]), array([0.2]))
    """
    p_severe = apply_calibration(calibrators["severe"], raw_severe)
    return p_severe, np.minimum(apply_calibration(calibrators["fatal"], raw_fatal), p_severe)
