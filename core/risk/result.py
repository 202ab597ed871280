"""The result of one risk map (:class:`HexRisk`), apart from the steps that make it.

A leaf, so that the texts about a map and the page can name it without
loading the filtering and scoring (:func:`core.risk.hexes.hex_risk` makes it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class HexRisk:
    """The scored hexagons of one map and how they were obtained.

    ``year_span`` gives the fewest and the most years a per-year average
    spans among the departments shown that have counted years
    (:mod:`core.coverage`); ``mask`` the
    accidents counted (the whole selection: a zoomed view keeps the cells it
    shows, each with all its accidents).
    """

    scored: pd.DataFrame
    resolution: int
    asked_resolution: int
    located: int
    year_span: tuple[int, int]
    national_share: float | None
    mask: np.ndarray

    @property
    def coarsened(self) -> bool:
        return self.resolution < self.asked_resolution

    def shown(self, *, hide_masked: bool) -> pd.DataFrame:
        """The scored cells drawn and exported: all of them, or those not masked when ``hide_masked``."""
        return self.scored[~self.scored["masked"]] if hide_masked else self.scored
