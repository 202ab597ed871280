"""Home: the saved views, what the store holds, year by year, and where it comes from."""

from __future__ import annotations

import streamlit as st

from core.codebook import HOSPITALISED_NOT_COMPARABLE
from core.formatting import format_count
from ui import data
from ui.filter_form import data_years
from ui.text import plain
from ui.views import saved_views_list

st.title("Gravité")
st.write(
    "Accidents corporels de la circulation routière en France, d'après les bases annuelles "
    "BAAC de l'ONISR : cartes de risque pour le SAMU, exploration pour les analystes, "
    "estimation de gravité pour la régulation."
)

summary = data.store_summary()
cols = st.columns(4)
cols[0].metric("Accidents", format_count(summary["accidents"]))
cols[1].metric("Usagers", format_count(summary["users"]))
cols[2].metric("Véhicules", format_count(summary["vehicles"]))
cols[3].metric("Années", f"{summary['first_year']}–{summary['last_year']}")

st.subheader("Vues enregistrées")
saved_views_list(data_years=data_years())

st.subheader("Par année")
totals = data.yearly_totals()
table = totals[["year", "accidents", "killed", "hospitalised"]].rename(
    columns={"year": "Année", "accidents": "Accidents", "killed": "Tués", "hospitalised": "Blessés hospitalisés"}
)
counts = ["Accidents", "Tués", "Blessés hospitalisés"]
table[counts] = table[counts].map(format_count)
table["Année"] = table["Année"].astype(str)
st.table(table, hide_index=True)
st.caption(HOSPITALISED_NOT_COMPARABLE)

st.subheader("Source")
report = data.ingest_report()
st.markdown(
    "- **BAAC** (Bases de données annuelles des accidents corporels de la circulation routière), "
    "ONISR, publiées sur data.gouv.fr sous **Licence Ouverte / Etalab**.\n"
    f"- Chargé depuis : {', '.join(plain(s) for s in report.get('sources', [])) or 'inconnu'}."
)
if report.get("warnings"):
    with st.expander("Avertissements du chargement"):
        for warning in report["warnings"]:
            st.markdown(plain(warning))
