"""The model's lifecycle on real data: tracked runs, the registry, the gate, retraining on the 2021 excerpt.

Each test works on a copy of the real store and of the committed model in its
own folder, with a local MLflow store there: the app's ``data/`` and
``models/`` are never touched. Challengers are quick models (5 % of the
accidents but the gate year's, one start year, at most 60 rounds), so that the
whole path (ingest, training, logging, registering, scoring both models,
deciding, promoting) runs in about a minute.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from core import config, store
from core.__main__ import main
from core.features.training import incident_from_row, training_frame
from core.ingest.sources import Source
from core.lifecycle import registry
from core.lifecycle.gate import GateRules, score_year
from core.lifecycle.retrain import retrain
from core.lifecycle.status import DRIFT_FILE, GATE_FILE, read_status
from core.lifecycle.tracking import MODEL_NAME, metric_name, tracking_client
from core.model.fitting import TrainingPlan
from core.model.loading import load_model, read_registry_note
from core.model.predict import predict_many
from core.model.spec import CARD_FILE, MODEL_FILES, file_sha256
from tests.apptest import run_page
from tests.conftest import EXCERPT_2021

QUICK = TrainingPlan(candidates=(2015,), max_rounds=60, sample=0.05)
#: The shipped tolerances, a quick challenger let through (the shipped gate refuses any quick model).
JUDGE_QUICK = GateRules(allow_quick=True)
#: Tolerances no challenger can fail: the run must then promote.
OPEN_GATE = GateRules(auc_tolerance=1.0, max_ece=1.0, subgroup_tolerance=1.0, min_accidents=1, allow_quick=True)


@pytest.fixture(scope="module", autouse=True)
def _no_team_server():
    """These tests write runs and versions: never into a team's tracking server (set up before the others)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        yield


def _hashes(models_dir: Path) -> dict[str, str]:
    return {name: file_sha256(models_dir / name) for name in (CARD_FILE, *MODEL_FILES)}


@pytest.fixture(scope="module")
def installation(full_store: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A data folder holding a copy of the real store, and a copy of the committed model."""
    root = tmp_path_factory.mktemp("lifecycle")
    shutil.copytree(full_store, config.parquet_dir(root / "data"))
    shutil.copytree(config.MODELS_DIR, root / "models", ignore=shutil.ignore_patterns("registry.json"))
    return {"data": root / "data", "models": root / "models"}


@pytest.fixture(scope="module")
def excerpt_retrain(installation):
    """``retrain --source`` the 2021 excerpt with the shipped gate and a quick challenger."""
    before = _hashes(installation["models"])
    result = retrain(new_sources=[Source("folder", EXCERPT_2021)], data_dir=installation["data"],
                     models_dir=installation["models"], plan=QUICK)
    return result, before


def test_retrain_on_the_2021_excerpt_ingests_it_judges_on_2020_and_keeps_the_champion(
        installation, excerpt_retrain) -> None:
    """20 accidents cannot judge two models: 2021 joins the store, the gate judges on 2020, the newest complete
    year; the quick challenger is judged but the shipped gate never serves a quick model."""
    result, before = excerpt_retrain
    con = store.connect(config.parquet_dir(installation["data"]))
    try:
        counted = con.execute("SELECT count(*) FROM accidents WHERE year = 2021").fetchone()[0]
    finally:
        con.close()
    expected = sum(1 for _ in (EXCERPT_2021 / "caracteristiques-2021.csv").open(encoding="utf-8")) - 1
    assert counted == expected == 20
    assert result.decision["year"] == 2020 and result.decision["left_out"] == {"2021": expected}
    assert result.decision["n"] == load_model(installation["models"]).card.metrics.test.severe.n
    assert not result.promoted
    quick = [c for c in result.decision["checks"] if c["rule"] == "quick"]
    assert quick and not quick[0]["passed"]
    assert f"2021 ({expected} accidents) est dans le magasin mais trop incomplète pour juger" in result.report
    assert "reste en service" in result.report
    assert _hashes(installation["models"]) == before  # the champion stays, file for file
    assert read_registry_note(installation["models"])["version"] == result.champion_version == 1
    assert read_status(GATE_FILE, data_dir=installation["data"])["report"] == result.report


def test_the_challenger_run_is_in_the_tracking_store_with_its_figures_and_files(installation, excerpt_retrain) -> None:
    result, _ = excerpt_retrain
    client = tracking_client(installation["data"])
    version = client.get_model_version(MODEL_NAME, str(result.challenger_version))
    run = client.get_run(version.run_id)
    card_path = Path(client.download_artifacts(run.info.run_id, f"model/{CARD_FILE}",
                                               str(installation["data"].parent / "card")))
    card = json.loads(card_path.read_text())
    assert run.data.params["years.validation"] == "2019" and run.data.params["years.test"] == "2020"
    assert run.data.params["plan.sample"] == "0.05"
    assert run.data.metrics["test.severe.auc"] == pytest.approx(card["metrics"]["test"]["severe"]["auc"])
    assert run.data.metrics["validation.fatal.ece"] == pytest.approx(card["metrics"]["validation"]["fatal"]["ece"])
    assert any(k.startswith("test.subgroup.") for k in run.data.metrics)
    assert run.data.tags["gravite.kind"] == "challenger"
    assert run.data.tags["gravite.gate"] == "refusé"
    assert run.data.tags["gravite.data_fingerprint"] == card["data_fingerprint"]["hash"]
    files = {a.path for a in client.list_artifacts(run.info.run_id, "model")}
    assert files == {f"model/{name}" for name in (CARD_FILE, *MODEL_FILES)}
    plots = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
    assert plots == {"plots/calibration.png", "plots/start_years.png", "plots/roc.png"}
    assert (installation["data"] / "mlflow" / "mlflow.db").exists()
    gate = json.loads(Path(client.download_artifacts(run.info.run_id, "gate.json",
                                                     str(installation["data"].parent / "gate"))).read_text())
    assert gate["decision"] == result.decision


def test_the_gate_scores_the_champion_as_its_card_says(installation, store_con) -> None:
    """The gate scores through the service's path; the card was computed by training's own: they must agree."""
    champion = load_model(installation["models"])
    figures = score_year(champion, store_con, 2020)
    assert figures["n"] == champion.card.metrics.test.severe.n
    assert figures["severe"]["auc"] == pytest.approx(champion.card.metrics.test.severe.auc, abs=1e-6)
    assert figures["severe"]["ece"] == pytest.approx(champion.card.metrics.test.severe.ece, abs=1e-6)
    for name, subgroup in champion.card.metrics.test.subgroups.items():
        assert figures["subgroups"][name]["severe_auc"] == pytest.approx(subgroup.severe.auc, abs=1e-6)


def test_a_challenger_worse_on_2020_is_refused_and_one_that_passes_is_served_then_rolled_back(
        installation, excerpt_retrain, store_con) -> None:
    before = _hashes(installation["models"])
    refused = retrain(data_dir=installation["data"], models_dir=installation["models"], gate_year=2020, plan=QUICK,
                      rules=JUDGE_QUICK)
    # Judged here, independently of the gate's code: 2020's accidents through predict_many, sklearn's AUC.
    frame = training_frame(store_con, first_year=2020, last_year=2020)
    incidents = [incident_from_row(row) for row in frame.to_dict("records")]
    served_p = np.array([r["p_severe"] for r in predict_many(load_model(installation["models"]), incidents,
                                                              explain=False)])
    assert roc_auc_score(frame["severe"].astype(int), served_p) == pytest.approx(
        [c for c in refused.decision["checks"] if c["rule"] == "auc"][0]["champion"], abs=1e-6)
    challenger_auc = [c for c in refused.decision["checks"] if c["rule"] == "auc"][0]["challenger"]
    challenger_ece = [c for c in refused.decision["checks"] if c["rule"] == "ece"][0]["challenger"]
    should_pass = (roc_auc_score(frame["severe"].astype(int), served_p) - challenger_auc <= 0.002
                   and challenger_ece <= 0.02)
    assert refused.promoted is should_pass is False  # 5 % of the data, 60 rounds: worse than the shipped model
    assert _hashes(installation["models"]) == before
    passed = retrain(data_dir=installation["data"], models_dir=installation["models"], gate_year=2020, plan=QUICK,
                     rules=OPEN_GATE)
    assert passed.promoted and "est mis en service" in passed.report
    served = load_model(installation["models"])
    assert served.card.plan.sample == 0.05
    assert read_registry_note(installation["models"])["version"] == passed.challenger_version
    client = tracking_client(installation["data"])
    assert int(registry.champion(client).version) == passed.challenger_version
    assert registry.champions(client) == [1, passed.challenger_version]
    # A person's decision: back to the version before, by the command line.
    assert main(["rollback", "--data", str(installation["data"]), "--models", str(installation["models"])]) == 0
    assert _hashes(installation["models"]) == before
    assert int(registry.champion(client).version) == 1
    assert main(["rollback", "--data", str(installation["data"]), "--models", str(installation["models"])]) == 2
    assert main(["promote", "999", "--data", str(installation["data"]), "--models", str(installation["models"])]) == 2
    assert _hashes(installation["models"]) == before




@pytest.fixture(scope="module")
def drift_2020(installation, excerpt_retrain) -> tuple[int, dict]:
    """``python -m core drift --year 2020`` on the installation: its exit code and the report it kept."""
    code = main(["drift", "--year", "2020", "--data", str(installation["data"]), "--models",
                 str(installation["models"])])
    return code, read_status(DRIFT_FILE, data_dir=installation["data"])


def test_drift_of_2020_is_logged_to_the_champion_run_and_kept_for_the_page(installation, drift_2020) -> None:
    """Exit 1 when a field drifts, the report's PSI as metrics of the champion's run and as an artifact."""
    code, report = drift_2020
    assert code == (4 if report["flagged"] else 0)
    assert report["version"] == read_registry_note(installation["models"])["version"]
    client = tracking_client(installation["data"])
    run = client.get_run(report["run_id"])
    for entry in report["fields"]:
        assert run.data.metrics[metric_name("drift", "psi", entry["field"])] == pytest.approx(entry["psi"])
    logged = [a.path for a in client.list_artifacts(report["run_id"], "drift")]
    assert len(logged) == 1 and logged[0].endswith("-2020.json")


def test_model_page_shows_the_gate_decision_and_the_drift_table(installation, drift_2020, monkeypatch) -> None:
    monkeypatch.setattr(config, "DATA_DIR", installation["data"])
    app = run_page(str(config.ROOT / "app_pages" / "model.py"))
    gate = read_status(GATE_FILE, data_dir=installation["data"])
    drift = read_status(DRIFT_FILE, data_dir=installation["data"])
    shown = next(t.value for t in app.table if "Challenger" in t.value.columns)
    assert len(shown) == len(gate["decision"]["checks"])
    auc = next(c for c in gate["decision"]["checks"] if c["rule"] == "auc")
    row = shown[shown["Règle"] == "ROC-AUC (grave)"].iloc[0]
    assert row["Champion"] == f"{auc['champion']:.3f}".replace(".", ",")
    assert row["Challenger"] == f"{auc['challenger']:.3f}".replace(".", ",")
    assert row["Résultat"].startswith("passé" if auc["passed"] else "refusé")
    table = next(t.value for t in app.table if "PSI" in t.value.columns)
    assert len(table) == len(drift["fields"]) + 1
    top = drift["fields"][0]
    assert table.iloc[0]["PSI"] == f"{top['psi']:.2f}".replace(".", ",")
    text = " ".join(m.value for m in app.markdown)
    outcome = "a été mis en service" if gate["promoted"] else "est resté en service"
    assert outcome in text and f"jugé sur {gate['decision']['year']}" in text


def test_model_page_without_lifecycle_records_says_so(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(config, "DATA_DIR", tmp_path)
    app = run_page(str(config.ROOT / "app_pages" / "model.py"))
    captions = " ".join(c.value for c in app.caption)
    assert "Aucun réentraînement n’a encore été jugé" in captions
    assert "Aucun rapport de dérive" in captions
    assert not [t for t in app.table if "Challenger" in t.value.columns]


def test_a_gate_year_too_thin_is_refused_before_any_training(installation, excerpt_retrain) -> None:
    versions_before = _versions(installation)
    with pytest.raises(ValueError, match="2021 ne compte que 20 accidents"):
        retrain(data_dir=installation["data"], models_dir=installation["models"], gate_year=2021, plan=QUICK)
    assert _versions(installation) == versions_before  # nothing trained, nothing registered


def _versions(installation) -> list[int]:
    client = tracking_client(installation["data"])
    return sorted(int(v.version) for v in client.search_model_versions(f"name = '{MODEL_NAME}'"))


def test_promoting_the_champion_again_adds_no_step_and_a_stale_note_is_not_believed(installation,
                                                                                      excerpt_retrain) -> None:
    client = tracking_client(installation["data"])
    current = int(registry.champion(client).version)
    steps = registry.champions(client)
    assert main(["promote", str(current), "--data", str(installation["data"]), "--models",
                 str(installation["models"])]) == 0
    assert registry.champions(client) == steps
    # A note beside another card (a crash mid-promotion, a new committed model pulled): ignored, not believed.
    other = installation["data"].parent / "other-models"
    shutil.copytree(installation["models"], other)
    card = json.loads((other / CARD_FILE).read_text())
    card["created"] = "2001-01-01T00:00:00+00:00"
    (other / CARD_FILE).write_text(json.dumps(card))
    assert read_registry_note(installation["models"]) is not None
    assert read_registry_note(other) is None
