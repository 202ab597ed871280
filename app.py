"""Gravité: router and shared frame of the Streamlit app."""

from __future__ import annotations

import streamlit as st

from core.store import StoreMissingError
from ui import data

st.set_page_config(page_title="Gravité", page_icon="🚑", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Accueil", icon="🏠", url_path="home", default=True),
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
