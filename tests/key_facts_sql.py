"""The key facts of a call as a SQL predicate over ``accidents a`` joined with ``v`` (its vehicles' obstacle flag).

An oracle written independently of :mod:`core.features.facts` (which computes the
same facts with numpy): the support test checks the model's count against it and
``bench/severity_page.py`` uses it as the naive baseline's query. A NULL
parameter matches any accident. A pedestrian is a user of ``catu`` 3, or 4 before 2019 (a pedestrian on rollers or
a scooter), as the model reads them; the store's ``has_pedestrian`` flag, which the explorer filters on, keeps the
codebook's 3 only.
"""

from __future__ import annotations

import numpy as np

from core.features.columns import columns_from_incidents
from core.features.facts import KEY_FACTS, key_facts
from core.incident.parse import parse_incident

KEY_FACTS_WHERE = """
      a.year BETWEEN $first AND $last
      AND ($agg IS NULL OR a.agg = $agg)
      AND ($catr IS NULL OR a.catr = $catr)
      AND ($daylight IS NULL OR (a.lum <= 2) = $daylight)
      AND ($pedestrian IS NULL
           OR EXISTS (SELECT 1 FROM users u WHERE u.acc_id = a.acc_id AND u.catu IN (3, 4)) = $pedestrian)
      AND ($bicycle IS NULL OR a.has_bicycle = $bicycle)
      AND ($two_wheeler IS NULL OR a.has_two_wheeler = $two_wheeler)
      AND ($heavy_goods IS NULL OR a.has_hgv = $heavy_goods)
      AND ($obstacle IS NULL OR v.obstacle = $obstacle)
"""


def key_fact_params(incident: dict) -> dict[str, int | bool | None]:
    """The incident's key facts as the named parameters of :data:`KEY_FACTS_WHERE` (None: unknown, matches any)."""
    facts = key_facts(columns_from_incidents([parse_incident(incident)]))[0]
    return {name: (None if np.isnan(value) else (int(value) if name in ("agg", "catr") else bool(value)))
            for name, value in zip(KEY_FACTS, facts, strict=True)}
