"""The model page in a real browser: the card's test-year figures, a sourced peer, the limits counted in the store."""

from __future__ import annotations

import pytest

from core.formatting import format_count, format_decimal
from core.model.loading import load_model

pytestmark = pytest.mark.e2e

TIMEOUT_MS = 90_000


def test_model_page_shows_the_card_a_sourced_peer_and_the_store_counts(page, app_url: str, store_con) -> None:
    card = load_model().card
    page.goto(app_url + "/model")
    page.get_by_role("heading", name="Fiabilité du modèle").wait_for(timeout=TIMEOUT_MS)
    page.get_by_role("heading", name="Limites").wait_for(timeout=TIMEOUT_MS)
    auc = page.locator("[data-testid='stMetric']", has_text="ROC-AUC (grave)")
    assert format_decimal(card.metrics.test.severe.auc, 3) in auc.inner_text()
    peers = page.locator("[data-testid='stTable']").filter(has_text="Publié")
    assert "https://github.com/lougail/accidents_routiers" in peers.inner_text()
    hospitalised = dict(store_con.execute(
        "SELECT a.year, count(*) FROM users u JOIN accidents a USING (acc_id) "
        "WHERE u.grav = 3 AND a.year IN (2017, 2018) GROUP BY a.year").fetchall())
    limits = page.locator("[data-testid='stMarkdown']").filter(has_text="éjection").inner_text()
    assert f"{format_count(hospitalised[2017])} en 2017 à {format_count(hospitalised[2018])} en 2018" in limits
    assert page.locator("[data-testid='stException']").count() == 0
