"""``python -m core drift``: the drift report of the model in service, logged to its run and kept for /model.

Why a module of its own
-----------------------
:mod:`core.lifecycle.drift` computes; this module chooses what to compare (the
API's audit log, or a year of the store), logs the report to the MLflow run of
the version in service (as a JSON artifact and as one PSI metric per field,
whose history shows how the population moves from one report to the next) and
writes ``data/lifecycle/drift.json`` for the model page.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

from core import config, store
from core.lifecycle.drift import audit_files, drift_report, incidents_from_audit, reference_columns, store_columns
from core.lifecycle.registry import ensure_champion
from core.lifecycle.status import DRIFT_FILE, write_status
from core.lifecycle.tracking import MODEL_NAME, metric_name, tracking_client
from core.model.loading import load_model


def watch_drift(*, year: int | None = None, audit_file: Path | None = None, data_dir: Path = config.DATA_DIR,
                models_dir: Path = config.MODELS_DIR) -> dict[str, Any]:
    """The drift report of a store ``year`` or of the API's audit log (``audit_file`` and its rotated copies).

    The report is logged to the run of the version in service (registered first when the registry has none)
    and written to ``data/lifecycle/drift.json``; it is returned with ``run_id`` and ``version`` added.

    Raises
    ------
    ValueError
        When the audit log holds no incident, or the year has no accident.
    """
    if (year is None) == (audit_file is None):
        raise ValueError("give either a year of the store or the API's audit log")
    data_dir, models_dir = Path(data_dir), Path(models_dir)
    client = tracking_client(data_dir)
    version = ensure_champion(client, models_dir=models_dir)
    model = load_model(models_dir)
    con = store.connect(config.parquet_dir(data_dir))
    try:
        reference = reference_columns(con, model)
        if year is not None:
            current, set_aside, source = store_columns(con, first_year=year, last_year=year), {}, f"accidents {year}"
        else:
            files = audit_files(audit_file)
            if not files:
                raise ValueError(f"no audit log at {audit_file}: the API writes it as it answers")
            current, set_aside = incidents_from_audit(files)
            source = "incidents estimés par l’API (journal d’audit)"
    finally:
        con.close()
    if len(current) == 0:
        raise ValueError(f"nothing to compare: {source} holds no incident")
    report = drift_report(model, reference, current, source=source, set_aside=set_aside)
    run_id = client.get_model_version(MODEL_NAME, str(version)).run_id
    stamp = dt.datetime.now(dt.UTC)
    report = {**report, "at": stamp.isoformat(timespec="seconds"), "version": version, "run_id": run_id}
    client.log_dict(run_id, report, f"drift/{stamp:%Y%m%dT%H%M%SZ}-{'audit' if year is None else year}.json")
    millis = int(time.time() * 1000)
    from mlflow.entities import Metric

    client.log_batch(run_id, metrics=[
        *(Metric(metric_name("drift", "psi", entry["field"]), entry["psi"], millis, 0) for entry in report["fields"]),
        Metric("drift.psi.risk", report["risk"]["psi"], millis, 0)])
    report["kept_in"] = str(write_status(DRIFT_FILE, report, data_dir=data_dir))
    return report
