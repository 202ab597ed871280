"""Running a page with Streamlit's AppTest, shared by the page tests."""

from __future__ import annotations

from collections.abc import Mapping

import streamlit
from streamlit.testing.v1 import AppTest


def run_page(path: str, *, query: Mapping[str, str] | None = None,
             state: Mapping[str, object] | None = None) -> AppTest:
    """Run the page script once, with URL ``query`` parameters and session ``state``; fail on any exception."""
    streamlit.logger.set_log_level("error")
    app = AppTest.from_file(path, default_timeout=120)
    app.query_params.update(query or {})
    for key, value in (state or {}).items():
        app.session_state[key] = value
    app.run()
    assert not app.exception, app.exception[0].message
    return app
