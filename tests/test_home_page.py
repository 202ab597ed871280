"""AppTest run of the app's frame and home page on the real store."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core import config
from core.formatting import format_count

APP = str(config.ROOT / "app.py")


def test_home_page_shows_store_totals(store_con) -> None:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    accidents, first, last = store_con.execute("SELECT count(*), min(year), max(year) FROM accidents").fetchall()[0]
    users = store_con.execute("SELECT count(*) FROM users").fetchall()[0][0]
    assert metrics["Accidents"] == format_count(accidents)
    assert metrics["Usagers"] == format_count(users)
    assert metrics["Années"] == f"{first}–{last}"
    table = at.table[0].value
    killed = dict(store_con.execute("SELECT year, sum(n_killed) FROM accidents GROUP BY year").fetchall())
    shown = dict(zip(table["Année"].astype(int), table["Tués"], strict=True))
    assert shown == {year: format_count(n) for year, n in killed.items()}
    assert any("Licence Ouverte" in m.value for m in at.markdown)
