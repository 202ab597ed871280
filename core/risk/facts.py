"""The located accidents as numpy arrays (:class:`HexFacts`), loaded once per server for the risk map.

Why the counting is done in numpy and not in SQL: the page recounts hexes on
every filter change, at resolutions up to 9, with the most frequent weather and
light of each cell. On this 2-core machine a DuckDB ``GROUP BY h3_7`` over the
433,000 located accidents took 15-45 ms and ``mode()`` 60-180 ms, whereas
filtering columns loaded once (:func:`core.risk.loading.load_facts`) through
256-entry lookup tables (:mod:`core.risk.masks`) and counting with
``np.bincount`` on dense cell numbers (:mod:`core.risk.counts`) takes a few
milliseconds (``bench/risk_map.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.coverage import LocationCoverage


@dataclass(frozen=True, eq=False)
class HexFacts:
    """The located accidents, one entry per accident in each array, read-only.

    ``columns`` holds the filter columns (codes as uint8, :data:`core.filter_fields.UNKNOWN_CODE` for unknown),
    ``dep_names`` the department codes that ``columns["dep"]`` numbers (-1 =
    unknown), ``cells[r]`` the sorted distinct H3 cells of resolution ``r``,
    ``cell_index[r]`` each accident's position in ``cells[r]`` and
    ``coverage`` what each accident stands for in the per-year figures.
    """

    columns: dict[str, np.ndarray]
    dep_names: np.ndarray
    cells: dict[int, np.ndarray]
    cell_index: dict[int, np.ndarray]
    coverage: LocationCoverage

    @property
    def size(self) -> int:
        return len(self.columns["acc_id"])
