"""One risk map: a filter and the map's options in, the scored hexagons and how they were obtained out.

:func:`hex_risk` chains the steps of :mod:`core.risk`: the filter's mask, the
condition, the resolution capped to :data:`~core.risk.choices.MAX_HEXES`
cells, the counts of the cells shown (each with all its accidents), the
per-year weights of :mod:`core.coverage`, and the scoring.
"""

from __future__ import annotations

from dataclasses import replace

import duckdb
import numpy as np

from core.filters import AccidentFilter
from core.risk.choices import CONDITIONS, MAX_HEXES
from core.risk.counts import aggregate_hexes, capped_resolution, cell_totals
from core.risk.facts import HexFacts
from core.risk.masks import condition_mask, extent_mask, filter_mask
from core.risk.result import HexRisk
from core.risk.scoring import score_hexes


def hex_risk(
    facts: HexFacts, accident_filter: AccidentFilter, *, metric: str, resolution: int,
    condition: str | None = None, min_count: int = 20, extent: tuple[float, float, float, float] | None = None,
    cap: int = MAX_HEXES, con: duckdb.DuckDBPyConnection | None = None,
) -> HexRisk:
    """Count and score the hexagons of a map.

    For the relative risk, ``condition`` is the condition compared with its
    national share; for the other metrics it restricts the accidents counted
    (rain vs dry, night vs day). ``extent`` keeps the cells with an accident
    inside a box (a zoomed view); the cells are counted and scored on the
    whole selection, so a cell shows the same figures zoomed in or out. The
    resolution is lowered until at most ``cap`` cells are shown.

    Examples
    --------
    >>> result = hex_risk(facts, AccidentFilter(deps=("75",)), metric="severity_rate", resolution=9)
    >>> rated = result.scored.dropna(subset=["rate"])
    >>> inside = (rated["rate_low"] <= rated["rate"]) & (rated["rate"] <= rated["rate_high"])
    >>> result.resolution, bool(inside.all())
    (9, True)
    """
    if metric == "relative_risk" and condition is None:
        raise ValueError("the relative risk needs a condition")
    if condition is not None and condition not in CONDITIONS:
        raise ValueError(f"condition {condition!r}: choose among {', '.join(CONDITIONS)}")
    mask = filter_mask(facts, accident_filter, con=con)
    located = int(np.count_nonzero(mask))
    share = None
    if metric == "relative_risk":
        share = national_share(facts, accident_filter, condition, con=con)
    elif condition is not None:
        mask &= condition_mask(facts, condition)[0]
    shown = mask & extent_mask(facts, extent) if extent is not None else mask
    used = capped_resolution(facts, shown, resolution, cap=cap)
    context = None
    if extent is not None:
        context = cell_totals(facts, mask, used)
        seen = np.zeros(len(facts.cells[used]), dtype=bool)
        seen[facts.cell_index[used][shown]] = True
        shown = mask & seen[facts.cell_index[used]]  # the cells seen, each with all its accidents
    weights = facts.coverage.yearly_weights(facts.columns["dep"], accident_filter.years)
    counts = aggregate_hexes(facts, shown, used, condition=condition, weights=weights)
    scoring = {"resolution": used, "min_count": min_count, "context": context}
    if metric == "relative_risk" and share is None:
        scored = score_hexes(counts, metric="severity_rate", **scoring)
        scored["masked"], scored["value"] = True, np.nan
    else:
        scored = score_hexes(counts, metric=metric, national_share=share, **scoring)
    return HexRisk(scored, used, resolution, located, _year_span(facts, shown, accident_filter.years), share, mask)


def _year_span(facts: HexFacts, mask: np.ndarray, years: tuple[int, int] | None) -> tuple[int, int]:
    """Fewest and most counted years among the departments of the masked accidents that have any; (0, 0) if none."""
    present = np.zeros(len(facts.dep_names) + 1, dtype=bool)
    present[facts.columns["dep"][mask]] = True
    counted = facts.coverage.years_counted(years)[present[:-1]]
    counted = counted[counted > 0]
    return (int(counted.min()), int(counted.max())) if len(counted) else (0, 0)


def national_share(facts: HexFacts, accident_filter: AccidentFilter, condition: str,
                   *, con: duckdb.DuckDBPyConnection | None = None) -> float | None:
    """Share of the filter's located accidents, France-wide (places ignored), under ``condition``.

    None when no accident of the filter has the condition's variable known or
    none is under the condition.
    """
    national = filter_mask(facts, replace(accident_filter, regions=(), deps=()), con=con)
    hits, known = condition_mask(facts, condition)
    known_total = int(np.count_nonzero(national & known))
    hit_total = int(np.count_nonzero(national & hits))
    return hit_total / known_total if known_total and hit_total else None
