"""Gravité: router and shared frame of the Streamlit app."""

from __future__ import annotations

import streamlit as st

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

navigation = st.navigation(PAGES)

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
