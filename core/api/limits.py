"""The per-key rate limit: a token bucket per key, refilled at the key's rate, one second of burst.

Why a module of its own
-----------------------
A dispatch system in a loop must not starve the others. Each key gets its
rate (its own, or the server's default) with a burst of one second's worth;
a request beyond it gets 429 and ``Retry-After``, the whole seconds until a
request would pass. The buckets live in each worker's memory: with N workers
a key may get up to N times its rate from one host (see the README's
scaling notes); the load balancer in front of several hosts is where a
global cap belongs.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable


class RateLimiter:
    """Token buckets by key name.

    Examples
    --------
    >>> now = [0.0]
    >>> limiter = RateLimiter(clock=lambda: now[0])
    >>> [limiter.wait("k", 2.0) for _ in range(3)]
    [0.0, 0.0, 0.5]
    >>> now[0] = 0.5
    >>> limiter.wait("k", 2.0)
    0.0
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # name -> (tokens, time of last update)

    def wait(self, name: str, rate: float) -> float:
        """Take one request from ``name``'s bucket: 0 when it passes, else the seconds until one would."""
        now = self._clock()
        burst = max(rate, 1.0)
        tokens, then = self._buckets.get(name, (burst, now))
        tokens = min(burst, tokens + (now - then) * rate)
        if tokens >= 1.0:
            self._buckets[name] = (tokens - 1.0, now)
            return 0.0
        self._buckets[name] = (tokens, now)
        return (1.0 - tokens) / rate


def retry_after(seconds: float) -> str:
    """The ``Retry-After`` header: whole seconds, at least 1.

    Examples
    --------
    >>> retry_after(0.02), retry_after(1.5)
    ('1', '2')
    """
    return str(max(1, math.ceil(seconds)))
