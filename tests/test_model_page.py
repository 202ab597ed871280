"""The model reliability page run by Streamlit's AppTest on the committed model card."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core import config
from core.model.loading import load_model
from tests.apptest import run_page

PAGE = str(config.ROOT / "app_pages" / "model.py")


@pytest.fixture(scope="module")
def card() -> dict:
    return load_model().card


def _app() -> AppTest:
    return run_page(PAGE)


def _figure(app: AppTest) -> dict:
    charts = app.get("plotly_chart")
    assert len(charts) == 1
    return json.loads(charts[0].proto.spec)


def _values(array: dict | list) -> list[float]:
    """A plotly array as sent to the browser: a list, or a typed array (dtype + base64 bytes)."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"]).tolist()
    return list(array)


def _table(app: AppTest, column: str):
    return next(t.value for t in app.table if column in t.value.columns)


def test_card_figures_on_the_test_year(full_store, store_con, card) -> None:
    app = _app()
    assert app.title[0].value == "Fiabilité du modèle"
    test = card["metrics"]["test"]
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["ROC-AUC (grave)"] == f"{test['severe']['auc']:.3f}".replace(".", ",")
    assert metrics["ROC-AUC (tué)"] == f"{test['fatal']['auc']:.3f}".replace(".", ",")
    assert metrics["Erreur de calibration (ECE)"] == f"{test['severe']['ece']:.3f}".replace(".", ",")
    # The test year's size is the store's, written as French text.
    n_2020 = store_con.execute("SELECT count(*) FROM accidents WHERE year = 2020").fetchall()[0][0]
    assert f"({n_2020:,} accidents)".replace(",", "\u202f") in app.markdown[0].value
    first, last = card["years"]["training"]
    assert f"**Entraînement** : {first}–{last}" in app.markdown[0].value
    baselines = _table(app, "Modèle")
    assert list(baselines["Modèle"][:3]) == ["Modèle (XGBoost calibré)", "Régression logistique", "Taux de base (2019)"]
    subgroups = _table(app, "Sous-groupe")
    assert {"En agglomération", "Hors agglomération", "Métropole", "Outre-mer", "Nuit", "Piéton impliqué",
            "Deux-roues motorisé impliqué"} <= set(subgroups["Sous-groupe"])


def test_calibration_plot_is_the_card_table_and_switches_to_fatal(full_store, card) -> None:
    app = _app()
    table = [row for row in card["metrics"]["test"]["calibration_table"]["severe"] if row["n"]]
    model_trace = _figure(app)["data"][1]
    assert _values(model_trace["y"]) == pytest.approx([row["observed"] for row in table])
    app.segmented_control(key="model_target").set_value("fatal").run()
    fatal = [row for row in card["metrics"]["test"]["calibration_table"]["fatal"] if row["n"]]
    assert _values(_figure(app)["data"][1]["x"]) == pytest.approx([row["mean_predicted"] for row in fatal])


def test_peers_thresholds_and_limits_are_stated(full_store, card) -> None:
    app = _app()
    peers = _table(app, "Publié")
    assert list(peers["Publié"]) == ["0,817", "0,807"]
    assert list(peers["Année de test"]) == ["2024", "2023"]
    thresholds = _table(app, "Règle")
    shown = {float(t.replace(",", ".").rstrip("\xa0%")) for t in thresholds["Seuil"]}
    expected = {round(rule["threshold"] * 100, 1) for rule in card["thresholds"]["severe"].values()}
    assert shown == expected and len(thresholds) == 4
    assert any("95\u00a0% des accidents graves (bas de la bande « Moyen »)" in rule for rule in thresholds["Règle"])
    # The bands: validation figures they were chosen on, test figures for information, from the card.
    validation, test = card["bands"]["validation"], card["bands"]["test"]
    band_rows = _table(app, "Bande")
    assert list(band_rows["Bande"]) == ["Faible", "Moyen", "Élevé"]

    def percent(value: float) -> str:
        return f"{value * 100:.0f}\u00a0%"

    keys = ("low", "medium", "high")
    assert list(band_rows["Part grave observée 2019"]) == [percent(validation[k]["observed"]) for k in keys]
    assert list(band_rows["Part des accidents 2019"]) == [percent(validation[k]["share"]) for k in keys]
    assert list(band_rows["Part grave observée 2020 (test, pour information)"]) == [
        percent(test[k]["observed"]) for k in keys]
    high_from = card["thresholds"]["severe"]["precision_75"]["threshold"]
    sentences = next(m.value for m in app.markdown if "Élevé : à partir de" in m.value)
    assert (f"Élevé : à partir de {high_from * 100:.1f}".replace(".", ",") + "\u00a0% — sur 2019, "
            f"{percent(validation['high']['observed'])} des accidents de cette bande") in sentences
    limits = app.markdown[-1].value
    assert "éjection" in limits and "incarcérée" in limits and "2018" in limits
