"""Gravité: router and shared frame of the Streamlit app."""

from __future__ import annotations

import streamlit as st

from core.store import StoreMissingError
from ui import data

st.set_page_config(page_title="Gravité", page_icon=":material/emergency:", layout="wide")

PAGES = [
    st.Page("app_pages/home.py", title="Accueil", icon=":material/home:", url_path="home", default=True),
    st.Page("app_pages/risk_map.py", title="Carte des risques", icon=":material/map:", url_path="risk-map"),
    st.Page("app_pages/explorer.py", title="Explorer les accidents", icon=":material/search:", url_path="explorer"),
    st.Page("app_pages/severity.py", title="Estimation de gravité", icon=":material/emergency:", url_path="severity"),
    st.Page("app_pages/model.py", title="Fiabilité du modèle", icon=":material/fact_check:", url_path="model"),
]

# The page files live in app_pages/, not pages/: a pages/ folder beside app.py makes
# Streamlit treat a fresh server as an old-style multipage app, so that the first deep
# link (/explorer, /risk-map?...) showed "Page not found" or ran without this frame.
navigation = st.navigation(PAGES)

# Streamlit writes its input hints in English ("Press Enter to submit form"): French in their place.
st.html("<style>[data-testid='InputInstructions'] > span{display:none}"
        "[data-testid='InputInstructions']::after{content:'Entrée pour valider'}</style>")

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
