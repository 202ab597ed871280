"""Severity estimate for dispatch operators: a call's few facts in, a figure readable in two seconds out."""

from __future__ import annotations

import streamlit as st

from core.dispatch.intake import field_label, incident_from_form
from core.incident.fields import IncidentError
from core.model.spec import ModelCardError, ModelMissingError
from ui import data, ecall_paste, severity_data, severity_form, severity_result

st.title("Estimation de gravité")
st.caption("Parmi les accidents corporels (au moins un blessé), probabilité qu’un accident décrit au téléphone ait "
           "fait un tué ou un blessé hospitalisé, d’après les accidents BAAC. Tous les champs peuvent rester "
           "« Inconnu ». Aide à la décision : ce que l’appelant décrit (victime éjectée, incarcérée, inconsciente…) "
           "prime sur l’estimation.")
try:
    model = severity_data.severity_model()
except (ModelMissingError, ModelCardError) as error:
    st.error(f"Le modèle de gravité ne peut pas être chargé : pas d’estimation possible, prévenez l’administrateur. "
             f"Détail technique : {error}")
    st.stop()
past = severity_data.past_accidents()
severity_form.start_call()

form_column, result_column = st.columns([5, 4], gap="large")
# On a wide screen the answer stays in view while the operator scrolls the form down to its button.
st.html(f"<style>@media (min-width: {severity_result.STACKED_WIDTH_PX}px) {{"
        "[data-testid='stLayoutWrapper']:has(> .st-key-severity_result){position:sticky;top:3.5rem;z-index:2;"
        "max-height:calc(100vh - 4.5rem);overflow-y:auto}}"
        ".st-key-severity_result{scroll-margin-top:4rem}</style>")
result_panel = result_column.container(key="severity_result")
with form_column:
    st.button("Nouvel appel", key="severity_reset", on_click=severity_form.reset_call,
              kwargs={"extra_keys": (severity_result.CURRENT_KEY,)}, icon=":material/call:",
              shortcut=severity_form.NEW_CALL_SHORTCUT, help="Vide tout le formulaire (raccourci Alt+N)")
    ecall_paste.paste_block(communes=severity_data.communes, extra_keys=(severity_result.CURRENT_KEY,))
    severity_form.place_section(communes=severity_data.communes, place_picker=severity_data.place_picker,
                                first_year=data.store_summary()["first_year"])
    call = severity_form.call_form() or ecall_paste.take_pending_call()  # a pre-fill is estimated at once

record = severity_result.current()
if call is not None:
    try:
        incident = incident_from_form(call)
        record = severity_result.estimate(model, past, incident,
                                          from_message=ecall_paste.is_pasted_message(incident))
    except IncidentError as error:
        result_panel.error(f"{field_label(error.field)} : {error.reason}")
        record = None

with result_panel:
    if record is None:
        st.info("Remplissez ce que l’appelant sait, puis « Estimer la gravité » (Ctrl+Entrée).")
    else:
        severity_result.draw_estimate(record, model.card)

if record is not None:
    severity_result.draw_similar(record, past)
severity_result.draw_session()
severity_result.scroll_to_answer_on_phones()
severity_form.keyboard_shortcuts()
severity_form.focus_place_on_new_call()
