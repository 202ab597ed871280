"""Gravité: router and shared frame of the Streamlit app."""

from __future__ import annotations

import re

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from core import config
from core.store import StoreMissingError
from ui import data
from ui.errors import run_guarded
from ui.print_style import print_css
from ui.text import plain

# The tab's icon is a file of ours: a Material icon here is fetched from Google's fonts, which a network without
# internet never answers.
st.set_page_config(page_title="Gravité", page_icon=str(config.ASSETS_DIR / "favicon.png"), layout="wide")

HOME = st.Page("app_pages/home.py", title="Accueil", icon=":material/home:", url_path="", default=True)
PAGES = [
    HOME,
    st.Page("app_pages/risk_map.py", title="Carte des risques", icon=":material/map:", url_path="risk-map"),
    st.Page("app_pages/explorer.py", title="Explorer les accidents", icon=":material/search:", url_path="explorer"),
    st.Page("app_pages/severity.py", title="Estimation de gravité", icon=":material/emergency:", url_path="severity"),
    st.Page("app_pages/model.py", title="Fiabilité du modèle", icon=":material/fact_check:", url_path="model"),
]
# Addresses of the home page: the default page answers at "/" only, so "/home" gets its own hidden entry.
HOME_ALIASES = ("home", "accueil", "index.html")
# What a hidden stand-in page may be called (Streamlit refuses "/" in a page's address).
_PAGE_NAME = re.compile(r"^[\w.~-]{1,100}$")


def _requested_page() -> str:
    """The page name the browser asked for ("" for the root), as Streamlit resolves it."""
    ctx = get_script_run_ctx()
    return (getattr(getattr(ctx, "pages_manager", None), "intended_page_name", None) or "").strip("/")


def _not_found(name: str):
    def page() -> None:
        st.title("Page introuvable")
        st.warning(f"L'adresse « {plain('/' + name)} » ne correspond à aucune page de Gravité.",
                   icon=":material/link_off:")
        for target in PAGES:
            st.page_link(target, label=target.title, icon=target.icon)
    return page


def _stand_ins(name: str) -> list[st.Page]:
    """Hidden pages answering an address that is not one of ours, so that no English dialog opens."""
    known = {page.url_path for page in PAGES if page.url_path}
    if not name or name in known or not _PAGE_NAME.match(name):
        return []
    if name in HOME_ALIASES:
        return [st.Page(lambda: st.switch_page(HOME), title="Accueil", url_path=name, visibility="hidden")]
    return [st.Page(_not_found(name), title="Page introuvable", url_path=name, visibility="hidden")]


# The page files live in app_pages/, not pages/: a pages/ folder beside app.py makes
# Streamlit treat a fresh server as an old-style multipage app, so that the first deep
# link (/explorer, /risk-map?...) showed "Page not found" or ran without this frame.
navigation = st.navigation([*PAGES, *_stand_ins(_requested_page())])

# Streamlit writes its input hints in English ("Press Enter to submit form"): French in their place.
st.html("<style>[data-testid='InputInstructions'] > span{display:none}"
        "[data-testid='InputInstructions']::after{content:'Entrée pour valider'}</style>")
# Ctrl+P prints the page without the sidebar, header and buttons, the map and tables full width.
st.html(print_css())

with st.sidebar:
    st.caption(
        "Données : BAAC, ONISR (data.gouv.fr), Licence Ouverte / Etalab. "
        "Gravité n'est pas un service officiel."
    )

try:
    data.connection()
except StoreMissingError as error:
    st.error(str(error))
    st.stop()

run_guarded(navigation.run, navigation.url_path or "/")
