"""The session's estimates: one row per estimate, shown as a list and exported as CSV.

Why a module of its own
-----------------------
An operator may handle several calls in a session and must be able to keep a
record of what was estimated, when, with which model version and from which
facts (the incident JSON itself), without any server-side storage. The rows
are plain dicts held by the page, and their CSV uses the same conventions as
the app's other exports.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

from core.dispatch.bands import out_of_100
from core.dispatch.intake import describe_incident
from core.model.risk_bands import Band

ESTIMATE_COLUMNS: Final = (
    "numero", "heure_estimation", "p_grave", "bande", "p_tue", "sur_100_comparables", "accidents_comparables",
    "avertissements", "resume", "incident_json", "version_modele",
)
#: The "band" of a call that told neither the place nor a key fact (no estimate shown).
NO_ESTIMATE_LABEL: Final = "Aucune (ni lieu ni fait clé)"


def estimate_row(number: int, incident: Mapping[str, Any], result: Mapping[str, Any], band: Band | None,
                 *, made_at: dt.datetime) -> dict[str, Any]:
    """One line of the session's list (and of its CSV export).

    ``band`` is None for a call that told neither the place nor a key fact:
    no estimate was shown, so the row carries none. ``made_at`` is the local
    time of the incident's place (with its offset).

    Examples
    --------
    >>> row = estimate_row(1, {"agg": 2}, {"p_severe": 0.31234, "p_fatal": 0.0123, "support": 500,
    ...     "support_severe_share": 0.3, "model_version": "1.0.0"}, Band("medium", "Moyen", "#b35900"),
    ...     made_at=dt.datetime(2024, 5, 1, 14, 3, 12))
    >>> row["p_grave"], row["bande"], row["sur_100_comparables"], row["incident_json"]
    (0.3123, 'Moyen', 30, '{"agg": 2}')
    >>> estimate_row(2, {}, {"p_severe": 0.43, "p_fatal": 0.07}, None, made_at=dt.datetime(2024, 5, 1))["p_grave"]
    """
    estimated = band is not None
    return {
        "numero": number,
        "heure_estimation": made_at.isoformat(timespec="seconds"),
        "p_grave": round(float(result["p_severe"]), 4) if estimated else None,
        "bande": band.label if estimated else NO_ESTIMATE_LABEL,
        "p_tue": round(float(result["p_fatal"]), 4) if estimated else None,
        "sur_100_comparables": out_of_100(result) if estimated else None,
        "accidents_comparables": int(result.get("support") or 0),
        "avertissements": " | ".join(w["reason"] for w in result.get("warnings", [])),
        "resume": describe_incident(incident),
        "incident_json": json.dumps(dict(incident), ensure_ascii=False),
        "version_modele": result.get("model_version"),
    }


def estimates_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    """The session's estimates as CSV (comma-separated, dot decimals, as the app's other exports).

    Examples
    --------
    >>> estimates_csv([]).strip() == ",".join(ESTIMATE_COLUMNS)
    True
    """
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(ESTIMATE_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({name: "" if row.get(name) is None else row[name] for name in ESTIMATE_COLUMNS})
    return buffer.getvalue()
