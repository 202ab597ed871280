"""What a user sees when a page fails unexpectedly: a French message, never a traceback."""

from __future__ import annotations

import logging
from collections.abc import Callable

import streamlit as st

log = logging.getLogger("gravite.app")

UNEXPECTED = ("Une erreur inattendue empêche d'afficher cette page. Rechargez la page ; si l'erreur revient, "
              "prévenez l'administrateur (le détail est dans le journal du serveur).")


def run_guarded(page: Callable[[], None], name: str) -> None:
    """Run ``page``; an unexpected error shows :data:`UNEXPECTED` and goes, with its traceback, to the log.

    Streamlit's own signals (``st.stop``, ``st.rerun``, ``st.switch_page``) derive from
    ``BaseException`` and pass through.
    """
    try:
        page()
    except Exception:
        log.exception("page %s failed", name)
        st.error(UNEXPECTED, icon=":material/error:")
