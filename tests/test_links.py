"""Links from outside: a hand-typed or hostile URL never fails a page, never becomes markup, never shows a traceback."""

from __future__ import annotations

import logging
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from core import config
from core.filters import AccidentFilter, read_params
from tests.apptest import run_page
from ui.text import plain

EXPLORER = str(config.ROOT / "app_pages" / "explorer.py")
HOSTILE = "[cliquez ici](https://evil.example) ![x](https://evil.example/i.png)"
FIELDS = list(AccidentFilter.__dataclass_fields__)


@given(st.dictionaries(st.sampled_from(FIELDS), st.text(max_size=40), max_size=6))
@settings(max_examples=300, deadline=None)
def test_any_link_gives_a_valid_filter_and_notes(params: dict[str, str]) -> None:
    accident_filter, notes = read_params(params, years=(2005, 2020))
    assert isinstance(accident_filter, AccidentFilter)  # built, hence validated
    assert all(isinstance(note, str) and note.endswith(".") for note in notes)
    if accident_filter.years:
        assert 2005 <= accident_filter.years[0] <= accident_filter.years[1] <= 2020


@pytest.mark.parametrize(
    "accident_filter",
    [AccidentFilter(), AccidentFilter(years=(2010, 2015), deps=("59", "2A"), atm=(2, 3), hours=(22, 4),
                                      involves=("bicycle",), outcome="fatal", age_groups=("75+",), weekdays=(0, 6))],
)
def test_a_valid_link_reads_back_without_notes(accident_filter: AccidentFilter) -> None:
    assert read_params(accident_filter.to_params(), years=(2005, 2020)) == (accident_filter, [])


def test_bad_values_are_set_aside_one_by_one() -> None:
    accident_filter, notes = read_params(
        {"deps": "59,999,62", "atm": "2,x", "years": "2001-2030", "hours": "3-99", "outcome": "pire"},
        years=(2005, 2020),
    )
    assert accident_filter == AccidentFilter(deps=("59", "62"), atm=(2,), years=(2005, 2020), hours=(3, 23))
    assert len(notes) == 5
    assert any(note.startswith("Départements : « 999 »") for note in notes)
    assert any(note.startswith("Années : « 2001-2030 »") and "2005–2020" in note for note in notes)
    assert any(note.startswith("Gravité : « pire »") for note in notes)


def test_plain_text_keeps_every_character_and_no_markup() -> None:
    escaped = plain(HOSTILE + " :red[x] <b>y</b> a@b.fr")
    assert escaped.replace("\\", "").replace("\u2060", "") == HOSTILE + " :red[x] <b>y</b> a@b.fr"
    assert not re.search(r"(?<!\\)[\[\]()!<>:]", escaped)  # every markup character is escaped
    assert "https://" not in escaped and "@b" not in escaped  # no bare address left to autolink


def test_explorer_link_with_a_markdown_link_warns_as_text_and_keeps_the_rest(store_con) -> None:
    app = run_page(EXPLORER, query={"deps": f"{HOSTILE},59", "years": "2001-2019"})
    warning = app.warning[0].value
    assert "Départements" in warning and "Années" in warning
    assert "](https" not in warning and "\\[cliquez ici\\]" in warning
    accidents = store_con.execute("SELECT count(*) FROM accidents WHERE dep = '59' AND year <= 2019").fetchall()[0][0]
    shown = {m.label: m.value for m in app.metric}["Accidents"]
    assert shown.replace("\u202f", "").replace("\u00a0", "").replace(" ", "") == str(accidents)


def _failing_page() -> None:
    from ui.errors import run_guarded

    def page() -> None:
        raise RuntimeError("/srv/secret/path.py exploded")

    run_guarded(page, "/test")


def test_an_unexpected_error_shows_french_and_logs_the_details(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="gravite.app"):
        app = AppTest.from_function(_failing_page, default_timeout=30).run()
    assert not app.exception
    assert "erreur inattendue" in app.error[0].value and "secret" not in app.error[0].value
    assert any("exploded" in (record.exc_text or str(record.exc_info)) for record in caplog.records)


def _stopping_page() -> None:
    import streamlit

    from ui.errors import run_guarded

    run_guarded(streamlit.stop, "/stop")
    streamlit.write("not reached")


def test_streamlit_signals_pass_through_the_guard() -> None:
    app = AppTest.from_function(_stopping_page, default_timeout=30).run()
    assert not app.exception and not app.error and not app.markdown
