"""95 % intervals for two selections of accidents: a ratio of yearly rates, a difference of shares.

The comparison tab says whether A and B differ beyond chance, so each
difference comes with an interval whose behaviour is known on small counts
too (a department over one year, a rare kind of accident): the rate ratio uses
the exact conditional method for Poisson counts, the difference of shares
Newcombe's hybrid score interval built on Wilson's. Both stay inside their
natural bounds and never divide by zero; without data on a side there is no
estimate (``None``), never a made-up one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import special

#: The normal quantile of a two-sided 95 % interval.
Z95 = 1.959963984540054


@dataclass(frozen=True)
class Estimate:
    """A ratio (``null`` 1) or a difference (``null`` 0) with its 95 % interval; ``None`` when not estimable."""

    value: float | None
    low: float | None
    high: float | None
    null: float

    @property
    def beyond_chance(self) -> bool | None:
        """True when the interval leaves out ``null`` (no difference); None without an estimate."""
        if self.value is None or self.low is None or self.high is None:
            return None
        return self.low > self.null or self.high < self.null


def rate_ratio(count_a: int, exposure_a: float, count_b: int, exposure_b: float) -> Estimate:
    """``(count_a / exposure_a) / (count_b / exposure_b)`` with its exact 95 % interval (Poisson counts).

    Given the total ``n = count_a + count_b``, ``count_a`` is binomial with
    ``p = r·e_a / (r·e_a + e_b)`` where ``r`` is the ratio: the Clopper-Pearson
    bounds of ``p`` give those of ``r``. Exact, so right on small counts too.

    Parameters
    ----------
    count_a, count_b
        Events of each side (accidents, people killed...).
    exposure_a, exposure_b
        What the counts are per: years for a yearly rate, accidents for a
        rate per accident.

    Examples
    --------
    >>> r = rate_ratio(200, 2, 100, 2)
    >>> r.value, round(r.low, 3), round(r.high, 3), r.beyond_chance
    (2.0, 1.565, 2.569, True)
    >>> rate_ratio(0, 1, 0, 1).value is None
    True
    """
    if min(count_a, count_b) < 0 or min(exposure_a, exposure_b) <= 0:
        raise ValueError(f"counts must be >= 0 and exposures > 0, got {count_a}/{exposure_a}, {count_b}/{exposure_b}")
    if count_b == 0:  # no rate to divide by (nor any count at all when count_a is 0 too)
        return Estimate(None, None, None, 1.0)
    n = count_a + count_b
    tail = 0.025
    p_low = 0.0 if count_a == 0 else float(special.betaincinv(count_a, n - count_a + 1, tail))
    p_high = float(special.betaincinv(count_a + 1, n - count_a, 1 - tail))  # < 1 since count_b > 0
    scale = exposure_b / exposure_a
    return Estimate((count_a / exposure_a) / (count_b / exposure_b), p_low / (1 - p_low) * scale,
                    p_high / (1 - p_high) * scale, 1.0)


def wilson_interval(hits: int, total: int) -> tuple[float, float]:
    """Wilson score 95 % interval of the share ``hits / total``.

    Examples
    --------
    >>> [round(bound, 4) for bound in wilson_interval(5, 10)]
    [0.2366, 0.7634]
    """
    if total <= 0 or not 0 <= hits <= total:
        raise ValueError(f"need 0 <= hits <= total and total > 0, got {hits}/{total}")
    p, z2 = hits / total, Z95 * Z95
    centre = (p + z2 / (2 * total)) / (1 + z2 / total)
    half = Z95 * math.sqrt(p * (1 - p) / total + z2 / (4 * total * total)) / (1 + z2 / total)
    return max(0.0, centre - half), min(1.0, centre + half)


def share_difference(hits_a: int, total_a: int, hits_b: int, total_b: int) -> Estimate:
    """``hits_a / total_a - hits_b / total_b`` with Newcombe's hybrid score 95 % interval.

    Newcombe (1998), method 10: each share's Wilson interval, combined
    (it keeps within -1..1 and behaves at 0 % and 100 %, unlike the Wald one).

    Examples
    --------
    Newcombe's own example, 56/70 against 48/80:

    >>> d = share_difference(56, 70, 48, 80)
    >>> round(d.value, 4), round(d.low, 4), round(d.high, 4)
    (0.2, 0.0524, 0.3339)
    """
    if total_a <= 0 or total_b <= 0:
        return Estimate(None, None, None, 0.0)
    p_a, p_b = hits_a / total_a, hits_b / total_b
    low_a, high_a = wilson_interval(hits_a, total_a)
    low_b, high_b = wilson_interval(hits_b, total_b)
    difference = p_a - p_b
    return Estimate(difference, difference - math.hypot(p_a - low_a, high_b - p_b),
                    difference + math.hypot(high_a - p_a, p_b - low_b), 0.0)
