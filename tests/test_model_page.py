"""The model reliability page run by Streamlit's AppTest on the committed model card, and the card's tables.

Figures of the page's text are checked against plain SQL counts on the store
written here, or against the card itself, never against the code that writes them.
"""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core import config
from core.model import report
from core.model.card import ModelCard
from core.model.loading import load_model
from tests.apptest import run_page
from tests.cards import literal_card

PAGE = str(config.ROOT / "app_pages" / "model.py")
NBSP, NNBSP = "\u00a0", "\u202f"


@pytest.fixture(scope="module")
def card() -> ModelCard:
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


def _count(value: int) -> str:
    return f"{value:,}".replace(",", NNBSP)


def test_card_figures_on_the_test_year(full_store, store_con, card) -> None:
    app = _app()
    assert app.title[0].value == "Fiabilité du modèle"
    test = card.metrics.test
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["ROC-AUC (grave)"] == f"{test.severe.auc:.3f}".replace(".", ",")
    assert metrics["ROC-AUC (tué)"] == f"{test.fatal.auc:.3f}".replace(".", ",")
    assert metrics["Erreur de calibration (ECE)"] == f"{test.severe.ece:.3f}".replace(".", ",")
    # The test year's size is the store's, written as French text.
    n_2020 = store_con.execute("SELECT count(*) FROM accidents WHERE year = 2020").fetchall()[0][0]
    assert f"({_count(n_2020)} accidents)" in app.markdown[0].value
    first, last = card.years.training
    assert f"**Entraînement** : {first}–{last}" in app.markdown[0].value
    baselines = _table(app, "Modèle")
    assert list(baselines["Modèle"][:3]) == ["Modèle (XGBoost calibré)", "Régression logistique", "Taux de base (2019)"]
    subgroups = _table(app, "Sous-groupe")
    assert {"En agglomération", "Hors agglomération", "Métropole", "Outre-mer", "Nuit", "Piéton impliqué",
            "Deux-roues motorisé impliqué"} <= set(subgroups["Sous-groupe"])


def test_calibration_plot_is_the_card_table_and_switches_to_fatal(full_store, card) -> None:
    app = _app()
    table = [row for row in card.metrics.test.calibration_table.severe if row.n]
    model_trace = _figure(app)["data"][1]
    assert _values(model_trace["y"]) == pytest.approx([row.observed for row in table])
    app.segmented_control(key="model_target").set_value("fatal").run()
    fatal = [row for row in card.metrics.test.calibration_table.fatal if row.n]
    assert _values(_figure(app)["data"][1]["x"]) == pytest.approx([row.mean_predicted for row in fatal])


def test_peers_thresholds_and_limits_are_stated(full_store, store_con, card) -> None:
    app = _app()
    # Each peer figure with its source: the CatBoost model of "UC1 — Priorisation des Secours" (test 2024).
    peers = _table(app, "Publié")
    assert list(peers["Publié"]) == ["0,817"]
    assert list(peers["Année de test"]) == ["2024"]
    assert all("https://" in source for source in peers["Source"])
    assert "https://github.com/lougail/accidents_routiers" in peers["Source"][0]
    thresholds = _table(app, "Règle")
    shown = {float(t.replace(",", ".").rstrip("\xa0%")) for t in thresholds["Seuil"]}
    expected = {round(rule.threshold * 100, 1) for rule in card.thresholds.severe.values()}
    assert shown == expected and len(thresholds) == 4
    assert any("95\u00a0% des accidents graves (bas de la bande « Moyen »)" in rule for rule in thresholds["Règle"])
    # The bands: validation figures they were chosen on, test figures for information, from the card.
    validation, test = card.bands.validation, card.bands.test
    band_rows = _table(app, "Bande")
    assert list(band_rows["Bande"]) == ["Faible", "Moyen", "Élevé"]

    def percent(value: float) -> str:
        return f"{value * 100:.0f}\u00a0%"

    keys = ("low", "medium", "high")
    assert list(band_rows["Part grave observée 2019"]) == [percent(validation.of(k).observed) for k in keys]
    assert list(band_rows["Part des accidents 2019"]) == [percent(validation.of(k).share) for k in keys]
    assert list(band_rows["Part grave observée 2020 (test, pour information)"]) == [
        percent(test.of(k).observed) for k in keys]
    high_from = card.thresholds.severe["precision_75"].threshold
    sentences = next(m.value for m in app.markdown if "Élevé : à partir de" in m.value)
    assert (f"Élevé : à partir de {high_from * 100:.1f}".replace(".", ",") + "\u00a0% — sur 2019, "
            f"{percent(validation.high.observed)} des accidents de cette bande") in sentences
    limits = app.markdown[-1].value
    assert "éjection" in limits and "incarcérée" in limits and "2018" in limits
    # The limits' figures are the store's: people hospitalised in 2017 and 2018, accidents of 2020 and 2019.
    hospitalised = dict(store_con.execute(
        "SELECT a.year, count(*) FROM users u JOIN accidents a USING (acc_id) "
        "WHERE u.grav = 3 AND a.year IN (2017, 2018) GROUP BY a.year").fetchall())
    accidents = dict(store_con.execute(
        "SELECT year, count(*) FROM accidents WHERE year IN (2019, 2020) GROUP BY year").fetchall())
    assert (f"leur nombre passe de {_count(hospitalised[2017])} en 2017 à {_count(hospitalised[2018])} "
            "en 2018") in limits
    assert f"{_count(accidents[2020])} accidents contre {_count(accidents[2019])} en 2019" in limits


# --------------------------------------------------------------------------- #
# The card's tables, outside the page
# --------------------------------------------------------------------------- #


def test_card_tables_show_the_card_figures(card) -> None:
    metrics = report.metrics_table(card)
    assert len(metrics) == 6
    model_row = metrics.iloc[0]
    assert model_row["ROC-AUC"] == f"{card.metrics.test.severe.auc:.3f}".replace(".", ",")
    subgroups = report.subgroup_table(card)
    assert set(card.metrics.test.subgroups) <= set(report.SUBGROUP_LABELS)
    assert "Outre-mer" in set(subgroups["Sous-groupe"])
    peers = report.peers_table(card)
    assert list(peers["Publié"]) == ["0,817"]
    assert all(peer.source for peer in report.PEERS)
    calibration = report.calibration_frame(card)
    figure = report.calibration_figure(card)
    np.testing.assert_allclose(figure.data[1].x, calibration["mean_predicted"])
    np.testing.assert_allclose(figure.data[1].y, calibration["observed"])
    assert calibration["n"].sum() == card.metrics.test.severe.n
    grouped = report.features_by_field(card)
    assert sum(len(v) for v in grouped.values()) == len(card.features.names)


def test_band_and_threshold_tables_on_a_literal_card() -> None:
    card = literal_card({
        "bands": {"test": {"low": {"share": 0.28, "observed": 0.07, "share_of_positives": 0.06},
                           "medium": {"share": 0.5, "observed": 0.37, "share_of_positives": 0.5},
                           "high": {"share": 0.22, "observed": 0.78, "share_of_positives": 0.44}}},
    })
    table = report.bands_table(card)
    assert list(table["Bande"]) == ["Faible", "Moyen", "Élevé"]
    assert list(table["Probabilité « grave »"]) == [f"moins de 18,3{NBSP}%", f"de 18,3{NBSP}% à 61,3{NBSP}%",
                                                    f"à partir de 61,3{NBSP}%"]
    assert list(table["Part des accidents 2019"]) == [f"30{NBSP}%", f"50{NBSP}%", f"20{NBSP}%"]
    assert list(table["Part grave observée 2019"]) == [f"6{NBSP}%", f"37{NBSP}%", f"79{NBSP}%"]
    assert list(table["Part grave observée 2020 (test, pour information)"]) == [f"7{NBSP}%", f"37{NBSP}%",
                                                                                  f"78{NBSP}%"]
    thresholds = report.thresholds_table(card)
    assert list(thresholds["Seuil"]) == ["18,3\xa0%", "32,8\xa0%", "39,6\xa0%", "61,3\xa0%"]
    assert thresholds["Règle"][0] == (f"Le plus haut seuil qui retrouve encore 95{NBSP}% des accidents graves "
                                      "(bas de la bande « Moyen »)")
    assert thresholds["Règle"][3] == (f"Le plus bas seuil où au moins 75{NBSP}% des accidents signalés étaient "
                                      "graves (bas de la bande « Élevé »)")
    assert "Précision 2020 (test)" in thresholds.columns


def test_limits_leave_out_figures_the_store_lacks(card) -> None:
    import pandas as pd

    sentences = report.limits(card, pd.DataFrame({"year": [2019], "accidents": [58_840], "hospitalised": [20_858]}))
    assert "L’ONISR a changé en 2018 la façon d’enregistrer les blessés hospitalisés. Les parts" in sentences[1]
    assert not any("confinements" in sentence for sentence in sentences)
