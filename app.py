"""Gravité: router and shared frame of the Streamlit app."""

from __future__ import annotations

from urllib.parse import urlparse

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from core.store import StoreMissingError
from ui import data

st.set_page_config(page_title="Gravité", page_icon=":material/emergency:", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Accueil", icon=":material/home:", url_path="home", default=True),
    st.Page("pages/risk_map.py", title="Carte des risques", icon=":material/map:", url_path="risk-map"),
    st.Page("pages/explorer.py", title="Explorer les accidents", icon=":material/search:", url_path="explorer"),
    st.Page("pages/severity.py", title="Estimation de gravité", icon=":material/emergency:", url_path="severity"),
    st.Page("pages/model.py", title="Fiabilité du modèle", icon=":material/fact_check:", url_path="model"),
]

# Until st.navigation has run once in this server, Streamlit treats the app as an
# old-style "pages/ folder" app: a deep link such as /risk-map is looked up among the
# file names (risk_map), shows "Page not found" and runs this script as the main page.
# st.navigation below then finds the right page, so reload the browser once: the
# same URL, query parameters included, now lands on its page without the error.
first_run_of_server = bool(PagesManager.uses_pages_directory)
navigation = st.navigation(PAGES)
if first_run_of_server:
    path = urlparse(st.context.url or "").path.rstrip("/")
    if any(path.endswith(f"/{page.url_path}") for page in PAGES if page.url_path):
        st.html("<script>window.location.reload()</script>", unsafe_allow_javascript=True)
        st.stop()

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

navigation.run()
