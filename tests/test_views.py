"""Named views (core.views): round trip, unique names, the allowlist, a corrupt file set aside, atomic writes.

Every test writes into its own temporary folder, never the developer's data/.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from core import views


@pytest.fixture()
def views_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "views.json"
    monkeypatch.setenv(views.VIEWS_FILE_ENV, str(path))
    return path


NIGHT_NORD = {"years": "2019-2020", "deps": "59", "lum": "3,4,5"}


def test_a_saved_view_reads_back_with_its_page_and_parameters(views_file: Path) -> None:
    assert views.views_path() == views_file
    assert views.load_views() == views.LoadedViews(())
    views.save_view("Nord la nuit", "explorer", NIGHT_NORD)
    views.save_view("Carte pluie", "risk-map", {"metric": "relative_risk", "cond": "rain"})
    loaded = views.load_views()
    assert loaded.notice is None
    rain = {"metric": "relative_risk", "cond": "rain"}
    assert [(v.name, v.page, dict(v.params)) for v in loaded.views] == [
        ("Nord la nuit", "explorer", NIGHT_NORD), ("Carte pluie", "risk-map", rain)]
    on_disk = json.loads(views_file.read_text(encoding="utf-8"))
    assert on_disk["version"] == views.FORMAT_VERSION and on_disk["views"][0]["params"] == NIGHT_NORD


def test_an_existing_name_is_replaced_only_when_asked(views_file: Path) -> None:
    views.save_view("Nord", "explorer", {"deps": "59"})
    with pytest.raises(views.ViewExistsError, match="« Nord » existe déjà"):
        views.save_view(" nord ", "explorer", {"deps": "59,62"})
    assert dict(views.load_views().views[0].params) == {"deps": "59"}
    views.save_view(" nord ", "explorer", {"deps": "59,62"}, replace=True)
    (view,) = views.load_views().views
    assert (view.name, dict(view.params)) == ("nord", {"deps": "59,62"})


def test_delete_removes_only_the_named_view(views_file: Path) -> None:
    views.save_view("A", "explorer", {})
    views.save_view("B", "explorer", {"deps": "48"})
    assert views.delete_view("a") is True
    assert views.delete_view("a") is False
    assert [v.name for v in views.load_views().views] == ["B"]


@pytest.mark.parametrize(("name", "page", "params", "message"), [
    ("Nord", "admin", {}, "la page « admin » n'en accepte pas"),
    ("Nord", "../secret", {}, "n'en accepte pas"),
    ("Nord", "severity", {}, "n'en accepte pas"),
    ("   ", "explorer", {}, "le nom est vide"),
    ("x" * (views.MAX_NAME + 1), "explorer", {}, f"dépasse {views.MAX_NAME} caractères"),
    ("a\nb", "explorer", {}, "caractères de contrôle"),
    ("Nord", "explorer", {"Deps!": "59"}, "paramètre « Deps! » non valable"),
    ("Nord", "explorer", {"deps": "5" * (views.MAX_VALUE + 1)}, "valeur du paramètre « deps »"),
    ("Nord", "explorer", {f"k{i}": "1" for i in range(views.MAX_PARAMS + 1)}, f"plus de {views.MAX_PARAMS}"),
])
def test_invalid_views_are_refused_in_french_and_nothing_is_written(
    views_file: Path, name: str, page: str, params: dict, message: str
) -> None:
    with pytest.raises(views.ViewError, match="Vue non enregistrable") as raised:
        views.save_view(name, page, params)
    assert message in str(raised.value)
    assert not views_file.exists()


@pytest.mark.parametrize("content", [
    '{"version": 1, "views": [{"name": "Nord", "page": "explorer", "par',  # cut short
    "not json at all",
    '{"version": 99, "views": []}',
    '["a list"]',
    "\udcff".encode("utf-8", "surrogateescape").decode("latin-1"),
])
def test_a_corrupt_file_is_set_aside_intact_with_a_french_notice(views_file: Path, content: str) -> None:
    views_file.write_text(content, encoding="utf-8")
    loaded = views.load_views()
    assert loaded.views == ()
    assert loaded.notice.startswith("Le fichier des vues enregistrées n'a pas pu être lu en entier")
    (aside,) = views.set_aside_files()
    assert aside.read_text(encoding="utf-8") == content  # nothing lost
    assert aside.name in loaded.notice
    assert not views_file.exists()
    assert views.load_views() == views.LoadedViews(())  # the next page reads an empty list, no message


def test_a_hand_edited_file_keeps_its_valid_views_and_says_which_were_dropped(views_file: Path) -> None:
    entries = [
        {"name": "Nord", "page": "explorer", "params": {"deps": "59"}},
        {"name": "Piège", "page": "https://example.org", "params": {}},
        {"name": "NORD", "page": "explorer", "params": {}},
        {"name": "Carte", "page": "risk-map", "params": {"metric": 3}},
        "just text",
        {"name": "Lozère", "page": "explorer", "params": {"deps": "48"}},
    ]
    original = json.dumps({"version": 1, "views": entries})
    views_file.write_text(original, encoding="utf-8")
    loaded = views.load_views()
    assert [v.name for v in loaded.views] == ["Nord", "Lozère"]
    for problem in ("vue n° 2 : la page « https://example.org » n'en accepte pas", "vue n° 3 : nom en double",
                    "vue n° 4 : valeur du paramètre « metric » non valable"):
        assert problem in loaded.notice
    assert "2 vues valables reprises" in loaded.notice
    (aside,) = views.set_aside_files()
    assert aside.read_text(encoding="utf-8") == original
    again = views.load_views()
    assert again.notice is None and [v.name for v in again.views] == ["Nord", "Lozère"]


def test_a_failed_write_leaves_the_previous_file_and_no_temporary_file(
    views_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    views.save_view("Nord", "explorer", {"deps": "59"})
    before = views_file.read_bytes()

    def disk_full(fd: int) -> None:  # the operating system failing, after the new content was written
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(os, "fsync", disk_full)
        with pytest.raises(OSError, match="No space left"):
            views.save_view("Lozère", "explorer", {"deps": "48"})
    assert views_file.read_bytes() == before
    assert sorted(p.name for p in views_file.parent.iterdir()) == ["views.json"]
    assert [v.name for v in views.load_views().views] == ["Nord"]


def test_the_views_file_defaults_to_the_data_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    from core import config

    monkeypatch.delenv(views.VIEWS_FILE_ENV, raising=False)
    assert views.views_path() == config.DATA_DIR / "views.json"
