"""The card's named subgroups: where a model may be good overall and poor for some accidents.

Why a module of its own
-----------------------
The card reports each subgroup's figures and the promotion gate
(:mod:`core.lifecycle.gate`) refuses a challenger that loses ground on any of
them: both must cut the accidents the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from core import codebook

if TYPE_CHECKING:
    import pandas as pd


def subgroup_masks(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Boolean masks of the card's subgroups over the rows of ``frame`` (a training frame).

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"lum": [1, 4], "agg": [2, 1], "dep": ["59", "971"], "n_pedestrians": [1, 0],
    ...                       "vehicles": [[7], [2, 7]]})
    >>> {name: mask.tolist() for name, mask in subgroup_masks(frame).items()}["two-wheeler involved"]
    [False, True]
    """
    lum = frame["lum"].to_numpy(dtype=float, na_value=np.nan)
    agg = frame["agg"].to_numpy(dtype=float, na_value=np.nan)
    overseas = frame["dep"].fillna("").str.len().to_numpy() == 3
    pedestrians = frame["n_pedestrians"].to_numpy() > 0
    two_wheeler = np.array([any(c in codebook.TWO_WHEELER_CATV for c in v) for v in frame["vehicles"]], dtype=bool)
    return {
        "urban (agg 2)": agg == 2, "rural (agg 1)": agg == 1,
        "metropolitan": ~overseas, "overseas": overseas,
        "day (lum 1)": lum == 1, "dusk or dawn (lum 2)": lum == 2, "night (lum 3-5)": lum >= 3,
        "pedestrian involved": pedestrians, "no pedestrian": ~pedestrians,
        "two-wheeler involved": two_wheeler, "no two-wheeler": ~two_wheeler,
    }
