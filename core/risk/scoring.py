"""Empirical-Bayes severity rates, their intervals, and relative risks of a condition.

The severity rate of a cell is shrunk toward the rate of the area around it
(the other cells of its H3 parent two levels up, themselves shrunk toward their
own surroundings, up to the rate of the whole selection), with a beta-binomial
prior whose strength is estimated from the spread of the cells' rates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from core.h3cells import cells_to_parents
from core.risk.choices import METRICS, MIN_RESOLUTION, YEARLY_METRICS


def fit_prior_strength(accidents: np.ndarray, severe: np.ndarray, prior_mean: np.ndarray) -> float:
    """Beta-binomial prior strength (pseudo-accidents) from the spread of the observed rates.

    Method of moments: with p_i = s_i/n_i and prior mean m_i, the
    beta-binomial gives E[n_i (p_i - m_i)^2] = m_i(1-m_i)(1 + (n_i - 1) rho)
    where rho = 1/(strength + 1) is the intra-cell correlation; rho is solved
    from the sums over cells and kept within [1e-4, 0.999]. Cells with one
    accident carry no information on rho and weigh nothing.

    Examples
    --------
    >>> n = np.array([100, 100, 100, 100]); s = np.array([10, 30, 10, 30])
    >>> round(float(fit_prior_strength(n, s, np.full(4, 0.2))), 1)
    17.9
    """
    n = np.asarray(accidents, dtype=float)
    s = np.asarray(severe, dtype=float)
    m = np.clip(np.asarray(prior_mean, dtype=float), 1e-6, 1 - 1e-6)
    keep = n > 0
    n, s, m = n[keep], s[keep], m[keep]
    binomial = m * (1 - m)
    spread = np.sum(n * (s / np.maximum(n, 1) - m) ** 2) - np.sum(binomial)
    weight = np.sum(binomial * (n - 1))
    rho = spread / weight if weight > 0 else 0.0
    rho = min(max(rho, 1e-4), 0.999)
    return 1 / rho - 1


def rate_posterior(
    accidents: np.ndarray, severe: np.ndarray, prior_mean: np.ndarray, strength: float
) -> tuple[np.ndarray, np.ndarray]:
    """Parameters (alpha, beta) of each cell's posterior Beta for its severity rate.

    The prior is Beta(k m, k (1 - m)), k = ``strength``, m = ``prior_mean``;
    with s severe accidents of n the posterior is Beta(s + k m, n - s + k (1 - m)),
    of mean (s + k m) / (n + k): a cell of many accidents keeps its own rate and
    a narrow interval, a cell of few is pulled toward its surroundings.

    Examples
    --------
    >>> alpha, beta = rate_posterior(np.array([4]), np.array([2]), np.array([0.1]), 16)
    >>> round(float(alpha[0]), 2), round(float(beta[0]), 2), round(float(alpha[0] / (alpha[0] + beta[0])), 3)
    (3.6, 16.4, 0.18)
    """
    n = np.asarray(accidents, dtype=float)
    s = np.asarray(severe, dtype=float)
    m = np.clip(np.asarray(prior_mean, dtype=float), 1e-6, 1 - 1e-6)
    return s + strength * m, n - s + strength * (1 - m)


def beta_interval(alpha: np.ndarray, beta: np.ndarray, *, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Equal-tailed interval of Beta(alpha, beta) holding ``level`` of its mass.

    Examples
    --------
    >>> low, high = beta_interval(np.array([3.6]), np.array([16.4]))
    >>> bool(low[0] < 0.18 < high[0])
    True
    """
    tail = (1 - level) / 2
    return special.betaincinv(alpha, beta, tail), special.betaincinv(alpha, beta, 1 - tail)


def surrounding_rates(
    cells: np.ndarray, accidents: np.ndarray, severe: np.ndarray, resolution: int, *, overall_rate: float
) -> np.ndarray:
    """Rate of the area around each cell, the cell itself left out.

    The other cells of its parent two levels up (at least res 5) are pooled
    and shrunk toward the parent's own surroundings, computed the same way;
    cells of resolution 5 get ``overall_rate`` (the rate of the selection).

    Notes
    -----
    The cell's own accidents must stay out of its prior. When they were in,
    at resolutions 8-9, where most cells hold one or two accidents, each
    prior followed its cell, the cells' rates looked less spread than chance
    alone allows, the fitted prior strength reached its ceiling (9,999
    pseudo-accidents) and every cell showed its surroundings' rate with a
    +/- 1 point interval, whatever its own size.

    Examples
    --------
    Two cells of one parent, 9 and 2 severe accidents of 10: each prior
    follows the other cell, not its own.

    >>> import h3
    >>> cells = np.array([h3.str_to_int(c) for c in ("871fb4662ffffff", "871fb4663ffffff")], dtype=np.uint64)
    >>> prior = surrounding_rates(cells, np.array([10, 10]), np.array([9, 2]), 7, overall_rate=0.3)
    >>> bool(prior[0] < prior[1])
    True
    """
    if resolution <= MIN_RESOLUTION:
        return np.full(len(cells), overall_rate, dtype=float)
    n = np.asarray(accidents, dtype=float)
    s = np.asarray(severe, dtype=float)
    parent_res = max(MIN_RESOLUTION, resolution - 2)
    parents, inverse = np.unique(cells_to_parents(cells, parent_res), return_inverse=True)
    parent_n = np.bincount(inverse, weights=n)
    parent_s = np.bincount(inverse, weights=s)
    parent_prior = surrounding_rates(parents, parent_n, parent_s, parent_res, overall_rate=overall_rate)
    strength = fit_prior_strength(parent_n, parent_s, parent_prior)
    others_n, others_s = parent_n[inverse] - n, parent_s[inverse] - s
    return (others_s + strength * parent_prior[inverse]) / (others_n + strength)


def share_interval(hits: np.ndarray, total: np.ndarray, *, z: float = 1.959964) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a proportion hits/total (95 % by default).

    Examples
    --------
    >>> low, high = share_interval(np.array([5]), np.array([10]))
    >>> round(float(low[0]), 4), round(float(high[0]), 4)
    (0.2366, 0.7634)
    """
    h = np.asarray(hits, dtype=float)
    n = np.maximum(np.asarray(total, dtype=float), 1e-12)
    p = h / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


def relative_risk(
    hits: np.ndarray, known: np.ndarray, national_share: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Share of a cell's accidents under a condition divided by the national share, with a 95 % interval.

    The interval is the Wilson interval of the cell's share divided by the
    national share (taken as exact: it rests on far more accidents).

    Examples
    --------
    >>> rr, low, high = relative_risk(np.array([6]), np.array([20]), 0.15)
    >>> round(float(rr[0]), 2)
    2.0
    """
    if not 0 < national_share <= 1:
        raise ValueError(f"national share must be in (0, 1], got {national_share}")
    h = np.asarray(hits, dtype=float)
    n = np.asarray(known, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(n > 0, h / n, np.nan)
    low, high = share_interval(h, n)
    return share / national_share, low / national_share, high / national_share


def score_hexes(
    counts: pd.DataFrame, *, resolution: int, metric: str, min_count: int, national_share: float | None = None,
    context: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Add the rates, intervals and the mapped ``value`` to :func:`core.risk.counts.aggregate_hexes` counts.

    Parameters
    ----------
    counts
        Output of :func:`core.risk.counts.aggregate_hexes`, with the per-year columns for the
        per-year metrics.
    resolution
        Resolution of ``counts`` (for the surrounding rates).
    metric
        Key of :data:`METRICS`.
    min_count
        Cells with fewer accidents (fewer with the condition's variable known,
        for the relative risk) get no rate: ``rate`` and its interval are NaN,
        and ``masked`` is True for the rate metrics.
    national_share
        Share of all located accidents of the filter, France-wide, under the
        condition; required for ``relative_risk``.
    context
        Every cell of the selection at this resolution (:func:`core.risk.counts.cell_totals`),
        to fit the priors on when ``counts`` holds only the cells shown; by
        default ``counts`` itself.

    Returns
    -------
    pandas.DataFrame
        ``counts`` plus ``rate``, ``rate_low``, ``rate_high`` (posterior mean
        and 95 % interval), ``rate_alpha``, ``rate_beta`` (the posterior Beta,
        for every cell), ``rr``, ``rr_low``, ``rr_high``, ``masked`` and
        ``value`` (the metric; NaN where masked). For the per-year metrics,
        ``masked`` marks the cells without an accident of a counted
        department-year (:mod:`core.coverage`).
    """
    if metric not in METRICS:
        raise ValueError(f"metric {metric!r}: choose among {', '.join(METRICS)}")
    if min_count < 1:
        raise ValueError(f"min_count must be at least 1, got {min_count}")
    yearly = metric in YEARLY_METRICS
    if yearly and "per_year" not in counts:
        raise ValueError(f"{metric} needs counts aggregated with weights")
    out = counts.copy()
    n = out["accidents"].to_numpy(dtype=float)
    s = out["severe"].to_numpy(dtype=float)
    too_few = n < min_count
    alpha = beta = np.full(len(out), np.nan)
    if len(out):
        alpha, beta = rate_posterior(n, s, *_fitted_priors(out if context is None else context, out, resolution))
    low, high = np.full(len(out), np.nan), np.full(len(out), np.nan)
    low[~too_few], high[~too_few] = beta_interval(alpha[~too_few], beta[~too_few])
    out["rate"] = np.where(too_few, np.nan, alpha / (alpha + beta))
    out["rate_low"], out["rate_high"] = low, high
    out["rate_alpha"], out["rate_beta"] = alpha, beta
    rr = rr_low = rr_high = np.full(len(out), np.nan)
    if metric == "relative_risk":
        if national_share is None:
            raise ValueError("relative_risk needs national_share")
        too_few = out["cond_known"].to_numpy() < min_count
        rr, rr_low, rr_high = relative_risk(out["cond_hits"].to_numpy(), out["cond_known"].to_numpy(),
                                            national_share)
    out["rr"] = np.where(too_few, np.nan, rr)
    out["rr_low"] = np.where(too_few, np.nan, rr_low)
    out["rr_high"] = np.where(too_few, np.nan, rr_high)
    if yearly:
        out["masked"] = out["counted"].to_numpy() == 0
        column = "per_year" if metric == "accidents_per_year" else "severe_per_year"
        out["value"] = np.where(out["masked"], np.nan, out[column])
    else:
        out["masked"] = too_few
        out["value"] = out["rate"] if metric == "severity_rate" else out["rr"]
    return out


def _fitted_priors(context: pd.DataFrame, counts: pd.DataFrame, resolution: int) -> tuple[np.ndarray, float]:
    """Prior means of the ``counts`` cells and the prior strength, both fitted on the ``context`` cells."""
    cells = context["cell"].to_numpy()
    n = context["accidents"].to_numpy(dtype=float)
    s = context["severe"].to_numpy(dtype=float)
    prior = surrounding_rates(cells, n, s, resolution, overall_rate=float(s.sum() / n.sum()))
    order = np.argsort(cells)
    position = order[np.searchsorted(cells, counts["cell"].to_numpy(), sorter=order)]
    return prior[position], fit_prior_strength(n, s, prior)
