"""`python -m core predict` and `evaluate` run as a user would, on real accidents."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from core import config
from core.features.training import incident_from_row, training_frame
from core.model.loading import load_model
from core.model.predict import predict_one
from core.model.spec import CARD_FILE
from tests.test_features import ACCIDENT_201900000001, ACCIDENT_201900000134, BAD_VALUES


def run_cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "core", *args], input=stdin, capture_output=True, text=True,
        cwd=config.ROOT, timeout=300, check=False,
    )


@pytest.fixture(scope="module")
def real_2020_rows(store_con):
    frame = training_frame(store_con, first_year=2020, last_year=2020)
    return [incident_from_row(r) for r in frame.head(40).to_dict("records")]


def test_predict_answers_every_line_in_order(real_2020_rows) -> None:
    lines = [
        {**ACCIDENT_201900000134, "id": "tree"},
        {"atm": 42, "id": "bad-atm"},
        "this is not json",
        [1, 2],
        {},
        *real_2020_rows,
    ]
    stdin = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n\n"
    done = run_cli("predict", stdin=stdin)
    assert done.returncode == 0, done.stderr
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(out) == len(lines) + 1  # the blank line at the end is answered too
    assert out[-1]["error"]["field"] == "line" and "vide" in out[-1]["error"]["reason"]
    out = out[:-1]
    assert out[0]["id"] == "tree" and out[0]["p_severe"] > 0.5
    assert out[1] == {"id": "bad-atm", "error": {"field": "atm", "reason": out[1]["error"]["reason"]}}
    assert "42" in out[1]["error"]["reason"]
    assert out[2]["error"]["field"] == "line" and "JSON invalide" in out[2]["error"]["reason"]
    assert out[3]["error"]["field"] == "incident"
    for result in [out[0], out[4], *out[5:]]:
        assert set(result) >= {"p_severe", "p_fatal", "worst_injury", "top_factors", "support", "model_version"}
        assert 0 <= result["p_fatal"] <= result["p_severe"] <= 1
        assert sum(result["worst_injury"].values()) == pytest.approx(1.0, abs=1e-6)


def test_cli_matches_in_process_prediction(real_2020_rows) -> None:
    severity = load_model()
    stdin = "\n".join(json.dumps(r) for r in real_2020_rows[:10])
    out = [json.loads(line) for line in run_cli("predict", stdin=stdin).stdout.splitlines()]
    for incident, result in zip(real_2020_rows[:10], out, strict=True):
        expected = predict_one(severity, incident)
        assert result["p_severe"] == pytest.approx(expected["p_severe"], abs=1e-4)
        assert result["p_fatal"] == pytest.approx(expected["p_fatal"], abs=1e-4)
        assert result["support"] == expected["support"]
        assert [f["field"] for f in result["top_factors"]] == [f["field"] for f in expected["top_factors"]]


def test_each_wrong_field_is_named_by_the_cli() -> None:
    lines = []
    for field, value in BAD_VALUES:
        incident = dict(ACCIDENT_201900000001)
        incident[field.split("[")[0]] = value
        lines.append(json.dumps(incident))
    lines.append(json.dumps(ACCIDENT_201900000001))
    done = run_cli("predict", "--no-factors", stdin="\n".join(lines))
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert [o["error"]["field"] for o in out[:-1]] == [field for field, _ in BAD_VALUES]
    assert "p_severe" in out[-1] and "top_factors" not in out[-1]


def test_evaluate_prints_card_metrics() -> None:
    done = run_cli("evaluate")
    assert done.returncode == 0, done.stderr
    card = json.loads((config.MODELS_DIR / CARD_FILE).read_text())
    assert f"{card['metrics']['test']['severe']['auc']:.4f}" in done.stdout
    assert "logistic regression" in done.stdout and "overseas" in done.stdout


def test_missing_model_gives_clear_error(tmp_path) -> None:
    done = run_cli("predict", "--models", str(tmp_path), stdin="{}\n")
    assert done.returncode == 2
    assert "python -m core train" in done.stderr
