"""Severity estimate for dispatch operators: a call's few facts in, a figure readable in two seconds out."""

from __future__ import annotations

import streamlit as st

from core.dispatch.intake import field_label, incident_from_form
from core.incident import IncidentError
from core.model.spec import ModelCardError, ModelMissingError
from ui import severity_data, severity_form, severity_result

st.title("Estimation de gravité")
st.caption("Probabilité qu’un accident décrit au téléphone ait fait un tué ou un blessé hospitalisé, d’après les "
           "accidents corporels BAAC. Tous les champs peuvent rester « Inconnu ». Aide à la décision : ce que "
           "l’appelant décrit (victime éjectée, incarcérée, inconsciente…) prime sur l’estimation.")
try:
    model = severity_data.severity_model()
except (ModelMissingError, ModelCardError) as error:
    st.error(str(error))
    st.stop()
past = severity_data.past_accidents()

form_column, result_column = st.columns([5, 4], gap="large")
# The result stays in view while the operator scrolls the form down to its button.
st.html("<style>[data-testid='stLayoutWrapper']:has(> .st-key-severity_result)"
        "{position:sticky;top:3.5rem;z-index:2}</style>")
result_panel = result_column.container(key="severity_result")
with form_column:
    st.button("Nouvel appel", key="severity_reset", on_click=severity_form.reset_call, icon=":material/call:")
    dep, com, coordinates = severity_form.place_section()
    call = severity_form.call_form(dep, com, coordinates)

record = severity_result.current()
if call is not None:
    try:
        record = severity_result.estimate(model, past, incident_from_form(call))
    except IncidentError as error:
        result_panel.error(f"{field_label(error.field)} : {error.reason}")
        record = None

with result_panel:
    if record is None:
        st.info("Remplissez ce que l’appelant sait, puis « Estimer la gravité ».")
    else:
        severity_result.draw_estimate(record, model.card)

if record is not None:
    severity_result.draw_similar(record, past)
severity_result.draw_session()
