"""Counts per H3 cell of the accidents a mask selects, by ``np.bincount`` on dense cell numbers.

Each cell gets its accidents, severe and fatal ones, those under a condition
and with the condition's variable known, its most frequent weather and light,
and, with the per-year weights of :mod:`core.coverage`, its per-year sums; the
scoring (:mod:`core.risk.scoring`) turns them into rates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.config import H3_RESOLUTIONS
from core.filter_fields import UNKNOWN_CODE
from core.risk.choices import CONDITIONS, MAX_HEXES, MIN_RESOLUTION
from core.risk.facts import HexFacts


def count_cells(facts: HexFacts, mask: np.ndarray, resolution: int) -> int:
    """How many distinct cells of ``resolution`` the masked accidents fall in."""
    index = facts.cell_index[resolution][mask]
    return int(np.count_nonzero(np.bincount(index, minlength=len(facts.cells[resolution]))))


def aggregate_hexes(
    facts: HexFacts, mask: np.ndarray, resolution: int, *, condition: str | None = None,
    weights: np.ndarray | None = None,
) -> pd.DataFrame:
    """Counts per H3 cell of the accidents selected by ``mask``.

    Parameters
    ----------
    facts
        From :func:`core.risk.loading.load_facts`.
    mask
        Which located accidents to count (:func:`core.risk.masks.filter_mask`, possibly
        and-ed with :func:`core.risk.masks.extent_mask`).
    resolution
        H3 resolution, 5 to 9.
    condition
        Key of :data:`CONDITIONS` whose accidents are also counted.
    weights
        Each located accident's part in the per-year figures
        (:meth:`core.coverage.LocationCoverage.yearly_weights`); without them
        the per-year columns are left out.

    Returns
    -------
    pandas.DataFrame
        One row per cell with at least one accident, sorted by cell: ``cell``
        (uint64 H3 index), ``accidents``, ``severe``, ``fatal``, ``cond_hits``
        and ``cond_known`` (accidents under the condition, and with the
        condition's variable known; 0 without condition), ``atm_mode`` and
        ``lum_mode`` (most frequent known code, lowest on a tie, 0 when none
        is known); with ``weights``, also ``per_year`` and
        ``severe_per_year`` (sums of the weights) and ``counted`` (accidents
        of a counted department-year, weight above 0).
    """
    if resolution not in H3_RESOLUTIONS:
        raise ValueError(f"resolution {resolution} not in {H3_RESOLUTIONS}")
    cols = facts.columns
    rows = np.flatnonzero(mask)
    index = facts.cell_index[resolution][rows]
    counts = np.bincount(index, minlength=len(facts.cells[resolution]))
    present = np.flatnonzero(counts)
    size = len(present)
    position = np.zeros(len(counts), dtype=np.int64)
    position[present] = np.arange(size, dtype=np.int64)
    local16 = position[index] * 16
    # One count per (cell, 4-bit slot): bit 0 severe, 1 fatal, 2 under the condition, 3 condition known.
    slot = cols["outcome_bits"][rows]
    if condition is not None:
        slot = slot | _condition_bits(condition)[cols[CONDITIONS[condition].column][rows]]
    by_slot = np.bincount(local16 + slot, minlength=size * 16).reshape(size, 16)
    per_bit = by_slot @ _SLOT_BITS
    out = {
        "cell": facts.cells[resolution][present],
        "accidents": counts[present],
        "severe": per_bit[:, 0],
        "fatal": per_bit[:, 1],
        "cond_hits": per_bit[:, 2],
        "cond_known": per_bit[:, 3],
    }
    for column in ("atm", "lum"):
        out[f"{column}_mode"] = _modes(local16 + cols[f"{column}_slot"][rows], size)
    if weights is not None:
        local, weight = position[index], weights[rows]
        out["per_year"] = np.bincount(local, weights=weight, minlength=size)
        out["severe_per_year"] = np.bincount(local, weights=weight * cols["severe"][rows], minlength=size)
        out["counted"] = np.bincount(local[weight > 0], minlength=size)
    return pd.DataFrame(out)


# Which of the 16 slots have each of the 4 bits set: (16, 4) 0/1 matrix.
_SLOT_BITS = ((np.arange(16)[:, None] >> np.arange(4)[None, :]) & 1).astype(np.int64)


def _condition_bits(condition: str) -> np.ndarray:
    """Lookup code -> bits 2 (under the condition) and 3 (known) of the slot."""
    spec = CONDITIONS[condition]
    table = np.full(256, 8, dtype=np.uint8)
    table[list(spec.codes)] = 12
    table[UNKNOWN_CODE] = 0
    return table


def _modes(keys: np.ndarray, size: int) -> np.ndarray:
    """Most frequent known code per cell from keys cell*16 + code (code 0 = unknown, not counted).

    Ties go to the lowest code; 0 when no code is known.
    """
    table = np.bincount(keys, minlength=size * 16).reshape(size, 16)
    table[:, 0] = 0
    best = table.argmax(axis=1)
    best[table.max(axis=1) == 0] = 0
    return best.astype(np.uint8)


def cell_totals(facts: HexFacts, mask: np.ndarray, resolution: int) -> pd.DataFrame:
    """Accidents and severe accidents per cell of ``resolution`` (``cell``, ``accidents``, ``severe``), sorted.

    The light part of :func:`aggregate_hexes`, for the priors of a zoomed map:
    they are fitted on the whole selection, not only on the cells shown.
    """
    index = facts.cell_index[resolution][mask]
    size = len(facts.cells[resolution])
    accidents = np.bincount(index, minlength=size)
    severe = np.bincount(index, weights=facts.columns["severe"][mask], minlength=size)
    present = np.flatnonzero(accidents)
    return pd.DataFrame({"cell": facts.cells[resolution][present], "accidents": accidents[present],
                         "severe": severe[present].astype(np.int64)})


def capped_resolution(facts: HexFacts, mask: np.ndarray, resolution: int, *, cap: int = MAX_HEXES) -> int:
    """``resolution``, or coarser until the masked accidents fall in at most ``cap`` cells."""
    used = resolution
    while used > MIN_RESOLUTION and count_cells(facts, mask, used) > cap:
        used -= 1
    return used
