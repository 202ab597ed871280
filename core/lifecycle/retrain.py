"""Retraining on a new year, through the gate: ingest, train a challenger, judge it, promote or keep.

Why a module of its own
-----------------------
This is the path a centre follows when it adds the 2021–2024 files
(``python -m core retrain --source DIR`` or ``--download YEAR``): the new
year(s) join the store beside the sources it was built from; a challenger is
trained with the shipped settings, validated on the year before the newest
and tested on the newest (the gate year); champion and challenger are scored
on that same year through the service's prediction path and the gate
(:mod:`core.lifecycle.gate`) decides. Every step is recorded: the challenger's
run and version in MLflow, the decision on the run and in
``data/lifecycle/gate.json`` for the pages. ``models/`` changes only when the
gate passes (or a person promotes a version).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core import config, store
from core.ingest.pipeline import run_ingest
from core.ingest.sources import PACKAGE, Source
from core.lifecycle.gate import GATE_RULES, GateRules, decide, format_decision, score_year
from core.lifecycle.registry import Served, ensure_champion, promote, register
from core.lifecycle.status import GATE_FILE, write_status
from core.lifecycle.tracking import log_training, tracking_client
from core.model.fitting import TrainingPlan
from core.model.loading import load_model
from core.model.train import train

Progress = Callable[[str], None]


@dataclass(frozen=True)
class RetrainResult:
    """What a retraining did: the versions, the decision and its French report."""

    champion_version: int
    challenger_version: int
    promoted: bool
    decision: dict[str, Any]
    report: str
    served: Served | None


def store_sources(parquet_dir: Path) -> list[Source]:
    """The sources the store was built from (its ingest report), to rebuild it with a new year beside them."""
    import json

    report = json.loads((Path(parquet_dir) / "ingest_report.json").read_text())
    package = Source(PACKAGE)
    return [package if label == package.label else Source.parse(label) for label in report["sources"]]


def model_words(version: int, card_years: Any) -> str:
    """``version 3 (entraîné 2015–2019, testé 2020)``: a model as the reports name it."""
    return (f"version {version} (entraîné {card_years.training[0]}–{card_years.validation}, "
            f"testé {card_years.test})")


def retrain(*, new_sources: Sequence[Source] = (), data_dir: Path = config.DATA_DIR,
            models_dir: Path = config.MODELS_DIR, gate_year: int | None = None,
            plan: TrainingPlan | None = None, rules: GateRules = GATE_RULES,
            progress: Progress | None = None) -> RetrainResult:
    """Add ``new_sources`` to the store, train a challenger and put it in service if the gate passes.

    Parameters
    ----------
    new_sources : sequence of Source
        Folders of yearly files (``--source``, ``--download``); none retrains on the store as it is.
    data_dir : Path
        The folder of the store (``parquet/``), of the tracking store (``mlflow/``) and of ``lifecycle/``.
    models_dir : Path
        The model in service (the champion's export).
    gate_year : int, optional
        The year both models are judged on (default: the newest year of the store); the challenger is
        validated on the year before it.
    plan : TrainingPlan, optional
        Start years, rounds, sample of the challenger (its years are set from ``gate_year``); default: the
        shipped settings.
    rules : GateRules
        The gate's tolerances.
    progress : callable, optional
        Called with the name of each step.
    """
    say = progress or (lambda _step: None)
    data_dir, models_dir = Path(data_dir), Path(models_dir)
    parquet = config.parquet_dir(data_dir)
    if new_sources:
        say("adding the new year(s) to the store")
        run_ingest([*store_sources(parquet), *new_sources], data_dir)
    con = store.connect(parquet)
    try:
        years = [row[0] for row in con.cursor().execute("SELECT DISTINCT year FROM accidents ORDER BY year").fetchall()]
        gate_year = gate_year or years[-1]
        if gate_year not in years or gate_year - 1 not in years:
            raise ValueError(f"the store has no accidents of {gate_year} or {gate_year - 1}: the gate year and the "
                             "year before it are both needed")
        say("the champion (the model in service)")
        client = tracking_client(data_dir)
        champion_version = ensure_champion(client, models_dir=models_dir)
        champion = load_model(models_dir)
        if champion.card.years.validation >= gate_year:
            raise ValueError(f"the champion was trained on years up to {champion.card.years.validation}: it "
                             f"cannot be judged on {gate_year}; choose a later --gate-year")
        plan = dataclasses.replace(plan or TrainingPlan(), validation_year=gate_year - 1, test_year=gate_year)
        with tempfile.TemporaryDirectory(prefix="gravite-challenger-") as folder:
            challenger_dir = Path(folder) / "models"
            card = train(con, models_dir=challenger_dir, parquet_dir=parquet, plan=plan,
                         progress=lambda step: say(f"challenger: {step}"))
            say("logging and registering the challenger")
            run_id = log_training(client, card, challenger_dir, tags={"gravite.kind": "challenger"})
            challenger_version = register(client, run_id)
            say(f"scoring both models on {gate_year}")
            challenger = load_model(challenger_dir)
            decision = decide(score_year(champion, con, gate_year), score_year(challenger, con, gate_year),
                              rules=rules)
    finally:
        con.close()
    names = {"champion": model_words(champion_version, champion.card.years),
             "challenger": model_words(challenger_version, card.years)}
    report = format_decision(decision, **names)
    served = None
    if decision["promote"]:
        say("putting the challenger in service")
        served = promote(client, challenger_version, models_dir=models_dir,
                         reason=f"portail passé sur {gate_year} contre la version {champion_version}")
    record = {"at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "run_id": run_id,
              "champion": {"version": champion_version, "words": names["champion"]},
              "challenger": {"version": challenger_version, "words": names["challenger"]},
              "promoted": decision["promote"], "decision": decision, "report": report}
    client.log_dict(run_id, record, "gate.json")
    client.set_tag(run_id, "gravite.gate", "promu" if decision["promote"] else "refusé")
    client.log_text(run_id, report, "gate.txt")
    write_status(GATE_FILE, record, data_dir=data_dir)
    return RetrainResult(champion_version, challenger_version, decision["promote"], decision, report, served)
