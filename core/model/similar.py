"""Past accidents sharing an incident's key facts, read from the store with one SQL query.

Why a module of its own
-----------------------
The ``support`` of a prediction says how many past accidents share the known
key facts; this query lists them, same department first, so that the figure
can be checked against real accidents (and is tested to match it). It needs a
store connection, unlike the rest of prediction. The dispatch page uses a
faster in-memory index instead (:mod:`core.dispatch.nearby`); this query
remains the reference and the naive baseline of ``bench/severity_page.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from core import features as F
from core.incident import parse_incident

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

    from core.model.loading import SeverityModel

_SIMILAR_SQL: Final = """
    WITH v AS (
        SELECT acc_id, list(coalesce(catv, 0) ORDER BY veh) AS vehicles, bool_or(obs > 0) AS obstacle
        FROM vehicles WHERE acc_id IN (SELECT acc_id FROM accidents WHERE year BETWEEN $first AND $last)
        GROUP BY acc_id
    )
    SELECT a.acc_id, a.year, a.month, a.day, a.hour, a.minute, a.dep, a.com, a.agg, a.catr, a.lum,
           v.vehicles, a.n_users AS n_people, a.n_killed, a.n_hospitalised, a.n_light, a.severe,
           count(*) OVER () AS matching
    FROM accidents a JOIN v USING (acc_id)
    WHERE a.year BETWEEN $first AND $last
      AND ($agg IS NULL OR a.agg = $agg)
      AND ($catr IS NULL OR a.catr = $catr)
      AND ($daylight IS NULL OR (a.lum <= 2) = $daylight)
      AND ($pedestrian IS NULL OR a.has_pedestrian = $pedestrian)
      AND ($bicycle IS NULL OR a.has_bicycle = $bicycle)
      AND ($two_wheeler IS NULL OR a.has_two_wheeler = $two_wheeler)
      AND ($heavy_goods IS NULL OR a.has_hgv = $heavy_goods)
      AND ($obstacle IS NULL OR v.obstacle = $obstacle)
    ORDER BY (a.dep = $dep) DESC NULLS LAST, a.acc_id DESC
    LIMIT $limit
"""


def similar_accidents(con: duckdb.DuckDBPyConnection, model: SeverityModel, incident: Mapping[str, Any],
                      *, limit: int = 20) -> pd.DataFrame:
    """Past accidents (training years) sharing the incident's known key facts, same department first.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A store connection (a cursor is used).
    model : SeverityModel
        Gives the years searched (the model's training years, as ``support``).
    incident : Mapping
        Raw incident, validated with :func:`core.incident.parse_incident`.
    limit : int
        At most this many rows, most recent first within the same department.

    Returns
    -------
    pandas.DataFrame
        acc_id, year, month, day, hour, minute, dep, com, agg, catr, lum, vehicles
        (catv list), n_people, n_killed, n_hospitalised, n_light, severe, and
        ``matching``: how many accidents match in all (equals the ``support`` of
        the prediction).
    """
    parsed = parse_incident(incident)
    facts = F.key_facts(F.columns_from_incidents([parsed]))[0]
    params: dict[str, Any] = {
        name: (None if np.isnan(value) else (int(value) if name in ("agg", "catr") else bool(value)))
        for name, value in zip(F.KEY_FACTS, facts, strict=True)
    }
    first, last = model.card["years"]["training"]
    params.update({"first": int(first), "last": int(last), "dep": parsed["dep"], "limit": int(limit)})
    cursor = con.cursor()
    try:
        return cursor.execute(_SIMILAR_SQL, params).fetch_df()
    finally:
        cursor.close()
