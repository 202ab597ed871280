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
from typing import Final

import numpy as np

ECE_BINS: Final = 10
RECALL_TARGET: Final = 0.80


def expected_calibration_error(y: np.ndarray, p: np.ndarray, *, bins: int = ECE_BINS) -> float:
    """Expected calibration error over ``bins`` equal-width probability bins.

    Examples
    --------
    >>> expected_calibration_error(np.array([0, 1, 1, 0]), np.array([0.0, 1.0, 1.0, 0.0]))
    0.0
    """
    index = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        rows = index == b
        if rows.any():
            total += rows.sum() / len(p) * abs(p[rows].mean() - y[rows].mean())
    return float(total)


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


def binary_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """ROC-AUC, Brier score, log loss, ECE, observed and mean predicted share."""
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

    y = y.astype(int)
    both = 0 < y.sum() < len(y)
    return {
        "n": int(len(y)),
        "observed": float(y.mean()) if len(y) else float("nan"),
        "mean_predicted": float(p.mean()) if len(y) else float("nan"),
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


def choose_thresholds(y: np.ndarray, p: np.ndarray) -> dict[str, dict[str, float]]:
    """Alert thresholds on calibrated validation predictions.

    ``best_f1`` maximises F1; ``recall_80`` is the highest threshold that still
    finds 80 % of the positive incidents (for sending help generously).
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
    reaching = np.flatnonzero(last_of_value & (recall >= RECALL_TARGET))
    at_recall = int(reaching[0]) if len(reaching) else len(p) - 1
    return {
        "best_f1": threshold_metrics(y, p, float(sorted_p[best])),
        "recall_80": threshold_metrics(y, p, float(sorted_p[at_recall])),
    }



# --------------------------------------------------------------------------- #
# Calibration (isotonic, stored as JSON numbers)
# --------------------------------------------------------------------------- #


def fit_isotonic(y: np.ndarray, p: np.ndarray) -> dict[str, list[float]]:
    """Fit an increasing map raw probability -> observed share; returns its breakpoints."""
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(p, y.astype(float))
    return {"x": [float(v) for v in iso.X_thresholds_], "y": [float(v) for v in iso.y_thresholds_]}


def apply_calibration(calibrator: Mapping[str, Sequence[float]], p: np.ndarray) -> np.ndarray:
    """Apply a map from :func:`fit_isotonic` (linear between breakpoints, as scikit-learn does)."""
    return np.interp(p, calibrator["x"], calibrator["y"])


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
