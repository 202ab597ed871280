"""The time-travel demonstration: the gate as it would have judged 2019's data arriving, rerun at will.

Why a module of its own
-----------------------
A centre deciding whether to trust the gate wants to see it work on years
whose outcome is known: a champion trained on the years up to 2018 (validated
on 2018, tested on 2019), a challenger trained up to 2019 (validated on 2019),
both judged on 2020 by :func:`core.lifecycle.gate.decide`, exactly as
``python -m core retrain`` judges a real new year. It runs in a tracking store
and a model folder of its own (``data/time-travel/``), so the registry and the
model in service are never touched.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from core import config, store
from core.lifecycle.gate import GATE_RULES, GateRules, decide, format_decision, score_year
from core.lifecycle.registry import promote, register
from core.lifecycle.retrain import model_words
from core.lifecycle.status import TIME_TRAVEL_FILE, write_status
from core.lifecycle.tracking import log_training, test_year_roc, tracking_client
from core.model.fitting import TrainingPlan
from core.model.loading import load_model
from core.model.train import train

#: Champion validated on the first year, challenger on the second, both judged on the third.
YEARS: Final = (2018, 2019, 2020)


def time_travel(*, data_dir: Path = config.DATA_DIR, plan: TrainingPlan | None = None,
                rules: GateRules = GATE_RULES, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Train the 2018 champion and the 2019 challenger, judge both on 2020, return the record (also written).

    The record (``data/lifecycle/time_travel.json``) holds both versions, the decision and its French report.
    """
    say = progress or (lambda _step: None)
    data_dir = Path(data_dir)
    own = data_dir / "time-travel"
    client = tracking_client(own, local=True)  # never a team's registry, even with MLFLOW_TRACKING_URI
    plan = plan or TrainingPlan()
    champion_year, challenger_year, gate_year = YEARS
    con = store.connect(config.parquet_dir(data_dir))
    versions, models = {}, {}
    try:
        for role, validation in (("champion", champion_year), ("challenger", challenger_year)):
            folder = own / role
            card = train(con, models_dir=folder, parquet_dir=config.parquet_dir(data_dir),
                         plan=dataclasses.replace(plan, validation_year=validation, test_year=validation + 1),
                         progress=lambda step, role=role: say(f"{role}: {step}"))
            run_id = log_training(client, card, folder, tags={"gravite.kind": f"time-travel {role}"},
                                  roc=test_year_roc(folder, con))
            versions[role] = register(client, run_id)
            models[role] = load_model(folder)
        promote(client, versions["champion"], reason=f"démonstration : le modèle entraîné jusqu’à {champion_year}",
                models_dir=own / "service")
        say(f"scoring both models on {gate_year}")
        decision = decide(score_year(models["champion"], con, gate_year), score_year(models["challenger"], con,
                                                                                     gate_year), rules=rules)
    finally:
        con.close()
    names = {role: model_words(versions[role], models[role].card.years) for role in versions}
    if decision["promote"]:
        promote(client, versions["challenger"], reason=f"démonstration : portail passé sur {gate_year}",
                models_dir=own / "service")
    record = {"at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "years": list(YEARS),
              "quick": plan.sample is not None,
              "champion": {"version": versions["champion"], "words": names["champion"]},
              "challenger": {"version": versions["challenger"], "words": names["challenger"]},
              "promoted": decision["promote"], "decision": decision, "report": format_decision(decision, **names)}
    write_status(TIME_TRAVEL_FILE, record, data_dir=data_dir)
    return record
