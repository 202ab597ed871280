"""Named views in the pages (AppTest): « Enregistrer cette vue » on the explorer, the list on the home page.

Every test points the views file at its own temporary folder (``GRAVITE_VIEWS_FILE``), never data/.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from streamlit.testing.v1 import AppTest

from core import config, views
from tests.apptest import run_page

EXPLORER = str(config.ROOT / "app_pages" / "explorer.py")
APP = str(config.ROOT / "app.py")
SAVE = "FormSubmitter:explorer_view_form-Enregistrer cette vue"


@pytest.fixture()
def views_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "views.json"
    monkeypatch.setenv(views.VIEWS_FILE_ENV, str(path))
    return path


def _shown(markdown: str) -> str:
    """Text as the reader sees it (the pages escape outside text for markdown)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def _saved(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["views"]


def _save(app: AppTest, name: str) -> AppTest:
    app.text_input(key="explorer_view_name").set_value(name)
    app.button(key=SAVE).click().run()
    assert not app.exception
    return app


def test_the_explorer_saves_its_link_under_a_name(views_file: Path) -> None:
    query = {"years": "2019-2020", "deps": "59", "lum": "3"}
    app = _save(run_page(EXPLORER, query=query), "Nord la nuit")
    assert "Vue « Nord la nuit » enregistrée" in app.sidebar.success[0].value
    (saved,) = _saved(views_file)
    assert (saved["name"], saved["page"], saved["params"]) == ("Nord la nuit", "explorer", query)


def test_saving_an_existing_name_asks_before_replacing(views_file: Path) -> None:
    views.save_view("Nord", "explorer", {"deps": "59"})
    app = _save(run_page(EXPLORER, query={"deps": "59,62"}), "nord")
    assert "Une vue nommée « nord » existe déjà" in app.sidebar.warning[0].value
    assert _saved(views_file)[0]["params"] == {"deps": "59"}  # nothing replaced yet
    app.button(key="explorer_view_replace").click().run()
    assert not app.sidebar.warning
    assert "enregistrée" in app.sidebar.success[0].value
    assert [(v["name"], v["params"]) for v in _saved(views_file)] == [("nord", {"deps": "59,62"})]


def test_cancelling_a_replacement_keeps_the_old_view(views_file: Path) -> None:
    views.save_view("Nord", "explorer", {"deps": "59"})
    app = _save(run_page(EXPLORER, query={"deps": "62"}), "Nord")
    app.button(key="explorer_view_cancel").click().run()
    assert not app.sidebar.warning
    assert _saved(views_file)[0]["params"] == {"deps": "59"}


def test_an_empty_name_is_refused_in_french(views_file: Path) -> None:
    app = _save(run_page(EXPLORER), "   ")
    assert "le nom est vide" in app.sidebar.error[0].value
    assert not views_file.exists()


def _home() -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60).run()
    assert not app.exception, app.exception
    return app


def test_home_lists_the_saved_views_as_links_with_their_parameters(views_file: Path) -> None:
    views.save_view("Nord la nuit", "explorer", {"years": "2019-2020", "deps": "59", "lum": "3"})
    views.save_view("Carte *pluie*", "risk-map", {"metric": "relative_risk", "cond": "rain"})
    app = _home()
    links = [element.proto for element in app.get("page_link")]
    assert [(link.label, link.page) for link in links] == [("Nord la nuit", "explorer"),
                                                           ("Carte \\*pluie\\*", "risk-map")]
    assert dict(parse_qsl(links[0].query_string)) == {"years": "2019-2020", "deps": "59", "lum": "3"}
    captions = _shown(" ".join(c.value for c in app.caption))
    assert "Explorer les accidents" in captions and "Départements : 59 – Nord" in captions
    assert "Lumière : Nuit sans éclairage public" in captions
    assert "Carte des risques · Indicateur : Risque relatif de la condition (pluie" in captions
    assert "Années : 2018–2020" in captions  # the map's own period when the link names none


def test_home_deletes_a_view(views_file: Path) -> None:
    views.save_view("Nord", "explorer", {"deps": "59"})
    views.save_view("Lozère", "explorer", {"deps": "48"})
    app = _home()
    deletes = [b for b in app.button if b.label == "Supprimer"]
    assert len(deletes) == 2
    deletes[0].click().run()
    assert not app.exception
    assert [v["name"] for v in _saved(views_file)] == ["Lozère"]
    assert "Vue « Nord » supprimée." in app.success[0].value
    assert [element.proto.label for element in app.get("page_link")] == ["Lozère"]


def test_home_sets_a_corrupt_views_file_aside_without_failing(views_file: Path) -> None:
    views_file.write_text('{"version": 1, "views": [', encoding="utf-8")
    app = _home()
    assert "n'a pas pu être lu en entier (JSON illisible, ligne 1)" in _shown(app.warning[0].value)
    assert "Aucune vue enregistrée" in " ".join(c.value for c in app.caption)
    (aside,) = views.set_aside_files()
    assert aside.read_text(encoding="utf-8") == '{"version": 1, "views": ['


def test_the_risk_map_saves_its_filter_and_map_options(views_file: Path) -> None:
    query = {"years": "2019-2020", "deps": "69", "metric": "severity_rate"}
    app = run_page(str(config.ROOT / "app_pages" / "risk_map.py"), query=query)
    app.text_input(key="risk_map_view_name").set_value("Rhône, taux grave")
    app.button(key="FormSubmitter:risk_map_view_form-Enregistrer cette vue").click().run()
    assert not app.exception
    (saved,) = _saved(views_file)
    assert (saved["name"], saved["page"]) == ("Rhône, taux grave", "risk-map")
    assert {k: saved["params"][k] for k in query} == query  # the page may add its own options (view...)
