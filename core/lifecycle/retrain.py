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
import json
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core import config, store
from core.ingest.pipeline import run_ingest
from core.ingest.sources import PACKAGE, Source
from core.ingest.year_sizes import stored_year_counts
from core.lifecycle.gate import GATE_RULES, GateRules, decide, format_decision, score_year
from core.lifecycle.registry import ensure_champion, promote, register
from core.lifecycle.status import GATE_FILE, write_status
from core.lifecycle.tracking import log_training, test_year_roc, tracking_client
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


def store_sources(parquet_dir: Path) -> list[Source]:
    """The sources the store was built from (its ingest report), to rebuild it with a new year beside them.

    Raises
    ------
    ValueError
        When a folder the store was built from is gone (or was recorded relative to another working folder).
    """
    report = json.loads((Path(parquet_dir) / "ingest_report.json").read_text())
    package = Source(PACKAGE)
    sources = [package if label == package.label else Source.parse(label) for label in report["sources"]]
    for source in sources:
        if source.path is not None and not source.path.is_dir():
            raise ValueError(f"le magasin a été construit avec le dossier {source.path}, introuvable d’ici : "
                             "reconstruisez-le (`python -m core ingest --source package --source DOSSIER…`) ou "
                             "lancez retrain depuis le dossier d’où il a été construit")
    return sources


def judged_year(counts: dict[int, int], *, min_accidents: int) -> tuple[int, list[int]]:
    """The newest year with at least ``min_accidents`` (the newest complete one), and the later years left out.

    A year still being filled (an excerpt, the first months of a year) cannot judge two models; it stays in the
    store, and the report says it was left out.

    Examples
    --------
    >>> judged_year({2019: 58840, 2020: 47744, 2021: 20}, min_accidents=1000)
    (2020, [2021])
    """
    years = sorted(counts)
    complete = [year for year in years if counts[year] >= min_accidents]
    if not complete:
        raise ValueError(f"aucune année du magasin ne compte {min_accidents} accidents : rien pour juger")
    return complete[-1], [year for year in years if year > complete[-1]]


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
        counts, _ = stored_year_counts(parquet)
        left_out: list[int] = []
        if gate_year is None:
            gate_year, left_out = judged_year(counts, min_accidents=rules.min_accidents)
        elif counts.get(gate_year, 0) < rules.min_accidents:  # refused before hours of training, not after
            raise ValueError(f"{gate_year} ne compte que {counts.get(gate_year, 0)} accidents, moins des "
                             f"{rules.min_accidents} qu’il faut pour départager deux modèles : choisissez une année "
                             "complète")
        if gate_year not in counts or gate_year - 1 not in counts:
            raise ValueError(f"le magasin n’a pas d’accidents de {gate_year} ou de {gate_year - 1} : l’année de "
                             "jugement et celle d’avant sont nécessaires")
        say("the champion (the model in service)")
        client = tracking_client(data_dir)
        champion_version = ensure_champion(client, models_dir=models_dir)
        champion = load_model(models_dir)
        if champion.card.years.validation >= gate_year:
            raise ValueError(f"le champion a été entraîné jusqu’en {champion.card.years.validation} : il ne peut "
                             f"pas être jugé sur {gate_year} ; choisissez une --gate-year plus récente")
        plan = dataclasses.replace(plan or TrainingPlan(), validation_year=gate_year - 1, test_year=gate_year)
        with tempfile.TemporaryDirectory(prefix="gravite-challenger-") as folder:
            challenger_dir = Path(folder) / "models"
            card = train(con, models_dir=challenger_dir, parquet_dir=parquet, plan=plan,
                         progress=lambda step: say(f"challenger: {step}"))
            say("logging and registering the challenger")
            run_id = log_training(client, card, challenger_dir, tags={"gravite.kind": "challenger"},
                                  roc=test_year_roc(challenger_dir, con))
            challenger_version = register(client, run_id)
            say(f"scoring both models on {gate_year}")
            challenger = load_model(challenger_dir)
            decision = decide(score_year(champion, con, gate_year), score_year(challenger, con, gate_year),
                              rules=rules, challenger_sample=plan.sample)
            decision["left_out"] = {str(year): counts[year] for year in left_out}
    finally:
        con.close()
    names = {"champion": model_words(champion_version, champion.card.years),
             "challenger": model_words(challenger_version, card.years)}
    report = format_decision(decision, **names)
    if left_out:
        report += "\n" + "\n".join(
            f"{year} ({counts[year]} accidents) est dans le magasin mais trop incomplète pour juger : laissée hors "
            "de l’entraînement et du jugement" for year in left_out)
    if decision["promote"]:
        say("putting the challenger in service")
        promote(client, challenger_version, models_dir=models_dir,
                reason=f"portail passé sur {gate_year} contre la version {champion_version}")
    record = {"at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "run_id": run_id,
              "champion": {"version": champion_version, "words": names["champion"]},
              "challenger": {"version": challenger_version, "words": names["challenger"]},
              "promoted": decision["promote"], "decision": decision, "report": report}
    client.log_dict(run_id, record, "gate.json")
    client.set_tag(run_id, "gravite.gate", "promu" if decision["promote"] else "refusé")
    client.log_text(run_id, report, "gate.txt")
    write_status(GATE_FILE, record, data_dir=data_dir)
    return RetrainResult(champion_version, challenger_version, decision["promote"], decision, report)
