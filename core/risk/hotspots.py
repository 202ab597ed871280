"""The hotspots of a map: its top cells, with their department and commune, and the table the page shows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core import places
from core.formatting import format_count, format_decimal
from core.h3cells import cell_ids
from core.risk.choices import METRICS
from core.risk.facts import HexFacts


def hotspots(scored: pd.DataFrame, facts: HexFacts, mask: np.ndarray, resolution: int,
             *, metric: str, top: int = 20) -> pd.DataFrame:
    """The ``top`` cells by ``value`` (masked cells left out), with their most frequent department and commune.

    For the relative risk, only cells whose 95 % interval lies above 1 (the
    condition is more frequent there than nationally, beyond chance) are
    hotspots. Ties are broken by the number of accidents. Returns ``scored``
    columns plus ``dep`` and ``com`` (INSEE codes, None when unknown).
    """
    # Sorting positions, not the 40,000-row frame: a stable lexsort on (value, accidents), both descending.
    value = scored["value"].to_numpy(dtype=float)
    eligible = ~scored["masked"].to_numpy(dtype=bool) & ~np.isnan(value)
    if metric == "relative_risk":
        eligible &= scored["rr_low"].to_numpy(dtype=float) > 1
    candidates = np.flatnonzero(eligible)
    order = np.lexsort((-scored["accidents"].to_numpy(dtype=float)[candidates], -value[candidates]))
    best = scored.iloc[candidates[order[:top]]].copy()
    if best.empty:
        return best.assign(dep=pd.Series(dtype=object), com=pd.Series(dtype=object))
    positions = np.searchsorted(facts.cells[resolution], best["cell"].to_numpy())
    chosen = np.zeros(len(facts.cells[resolution]), dtype=bool)
    chosen[positions] = True
    rows = np.flatnonzero(mask & chosen[facts.cell_index[resolution]])
    located = pd.DataFrame({
        "cell": facts.cells[resolution][facts.cell_index[resolution][rows]],
        "dep": np.append(facts.dep_names, None)[facts.columns["dep"][rows]],
        "com": facts.columns["com"][rows],
    })
    common = pd.DataFrame({column: _most_frequent(located, column) for column in ("dep", "com")})
    return best.join(common, on="cell")


def _most_frequent(located: pd.DataFrame, column: str) -> pd.Series:
    """Most frequent non-null value of ``column`` per cell (lowest value on a tie)."""
    pairs = located.dropna(subset=[column]).groupby(["cell", column], sort=True).size()
    pairs = pairs.sort_values(ascending=False, kind="stable")
    return pairs[~pairs.index.get_level_values("cell").duplicated()].reset_index(level=column)[column]


def hotspot_table(top: pd.DataFrame, *, metric: str) -> pd.DataFrame:
    """The hotspots as the page shows them, ranked from 1: places by name, figures in French, the H3 id last.

    Examples
    --------
    >>> from core.filters import AccidentFilter
    >>> from core.risk.hexes import hex_risk
    >>> result = hex_risk(facts, AccidentFilter(deps=("75",)), metric="severity_rate", resolution=8)
    >>> top = hotspots(result.scored, facts, result.mask, result.resolution, metric="severity_rate", top=3)
    >>> table = hotspot_table(top, metric="severity_rate")
    >>> table.index.tolist(), set(table["Département"])
    ([1, 2, 3], {'Paris'})
    """
    digits = 3 if metric in ("severity_rate", "relative_risk") else 1
    table = pd.DataFrame({
        "Département": [places.department_name(d) if d else "–" for d in top["dep"]],
        "Commune": [places.commune_name(c) or (c or "–") for c in top["com"]],
        METRICS[metric]: [format_decimal(v, digits) for v in top["value"]],
        "Accidents": [format_count(v) for v in top["accidents"]],
        "Graves": [format_count(v) for v in top["severe"]],
        "Taux lissé (%)": [format_decimal(v * 100, 1) for v in top["rate"]],
        "IC 95 % bas": [format_decimal(v * 100, 1) for v in top["rate_low"]],
        "IC 95 % haut": [format_decimal(v * 100, 1) for v in top["rate_high"]],
        "Hexagone": cell_ids(top["cell"].to_numpy()),
    }, index=range(1, len(top) + 1))
    if metric == "relative_risk":
        table.insert(3, "RR IC 95 % bas", [format_decimal(v, 2) for v in top["rr_low"]])
    return table


def hotspot_names(table: pd.DataFrame) -> dict[str, str]:
    """H3 id -> "rank. commune (id)" for each row of :func:`hotspot_table`, as the hotspot picker lists them."""
    return {cell: f"{rank}. {commune} ({cell})"
            for rank, commune, cell in zip(table.index, table["Commune"], table["Hexagone"], strict=True)}
