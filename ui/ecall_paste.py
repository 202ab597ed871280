""""Coller un message eCall": a decoded MSD pasted, the call form pre-filled from it, what it told beside the form.

"Pré-remplir" works in its callback, which runs before the page draws its
widgets and so may set their values: the message is read by
:func:`core.dispatch.ecall_form.prefill_from_text`, the form starts afresh (as
with "Nouvel appel") and shows the message's facts, and the page estimates once
from them. A message refused, or a test call, leaves the form as it was. The
pasted text and the notes stay until the next paste or "Nouvel appel", which
empties them with the rest of the call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import streamlit as st

from core.dispatch import intake
from core.dispatch.ecall_form import FORM_VEHICLE_NOTE, MAX_MESSAGE_CHARS, TEST_CALL_TEXT, prefill_from_text
from core.incident.fields import IncidentError
from ui import severity_form
from ui.text import plain

PANEL_KEY: Final = "severity_ecall_panel"
FORM_KEY: Final = "severity_ecall_form"
BUTTON_KEY: Final = "severity_ecall_prefill"
NOTES_BOX_KEY: Final = "severity_ecall_box"
#: The form pre-filled by the last click, for the page to estimate once.
PENDING_KEY: Final = "severity_ecall_pending"
_PLACEHOLDER: Final = ('{"automaticActivation": true, "testCall": false, "positionCanBeTrusted": true, '
                       '"vehicleType": "passengerVehicleClassM1", "timestamp": 1593957600, '
                       '"vehicleLocation": {"positionLatitude": 173222280, "positionLongitude": -6040080}, '
                       '"numberOfPassengers": 2}')


def paste_block(*, communes: Callable[[str], list[tuple[str, str]]], extra_keys: tuple[str, ...] = ()) -> None:
    """Draw the folded paste box and, below it, what the last paste gave.

    Parameters
    ----------
    communes : callable
        ``(code, name)`` of the communes the form offers in a department (the page's cached loader).
    extra_keys : tuple of str
        Session keys dropped by a pre-fill (the estimate shown belongs to the form it replaces).
    """
    with (st.expander("Coller un message eCall", icon=":material/sos:", key=PANEL_KEY),
          st.form(FORM_KEY, border=False, enter_to_submit=False)):
        # A form sends the text and the click in one message: with a bare button, a click made before the
        # text area's blur had been sent reached the server with the old (empty) text, now and then.
        st.text_area("Message eCall décodé (MSD, JSON)", key=severity_form.ECALL_TEXT_KEY, height=150,
                     max_chars=MAX_MESSAGE_CHARS, placeholder=_PLACEHOLDER)
        st.form_submit_button("Pré-remplir", key=BUTTON_KEY, on_click=_prefill, icon=":material/input:",
                              kwargs={"communes": communes, "extra_keys": extra_keys})
        st.caption("Le formulaire repart de zéro (comme « Nouvel appel ») et reçoit ce que dit le message : lieu, "
                   "date et heure, luminosité calculée, véhicule appelant, personnes à bord. Ajoutez ensuite ce "
                   "que dit l’appelant.")
    draw_outcome()


def _prefill(*, communes: Callable[[str], list[tuple[str, str]]], extra_keys: tuple[str, ...]) -> None:
    """The button's callback: read the message, fill the form or say why not."""
    state = st.session_state
    try:
        prefill = prefill_from_text(state.get(severity_form.ECALL_TEXT_KEY),
                                    offered_communes=lambda dep: {code for code, _ in communes(dep)})
    except IncidentError as error:
        state[severity_form.ECALL_STATUS_KEY] = {
            "kind": "error", "text": f"Message eCall refusé, champ «\u00a0{error.field}\u00a0» : {error.reason}"}
        _mark_notes_previous()
        return
    if prefill.test_call:
        state[severity_form.ECALL_STATUS_KEY] = {"kind": "test", "text": TEST_CALL_TEXT}
        _mark_notes_previous()
        return
    severity_form.fill_call(prefill.form, extra_keys=extra_keys)
    state.pop(severity_form.ECALL_STATUS_KEY, None)
    state[severity_form.ECALL_NOTES_KEY] = {"facts": list(prefill.facts), "unknown": list(prefill.unknown),
                                            "signals": list(prefill.signals), "warnings": list(prefill.warnings)}
    state[PENDING_KEY] = prefill.form
    state[severity_form.ECALL_INCIDENT_KEY] = intake.incident_from_form(prefill.form)


def is_pasted_message(incident: dict[str, Any]) -> bool:
    """The incident about to be estimated is exactly the last pre-fill's (the operator added nothing)."""
    return st.session_state.get(severity_form.ECALL_INCIDENT_KEY) == incident


def _mark_notes_previous() -> None:
    """The form keeps an earlier message's facts: its notes say so, not to be read as the new message's."""
    notes = st.session_state.get(severity_form.ECALL_NOTES_KEY)
    if notes is not None:
        st.session_state[severity_form.ECALL_NOTES_KEY] = {**notes, "previous": True}


def take_pending_call() -> intake.CallForm | None:
    """The form a pre-fill just filled, once (the page estimates it as if submitted), else None."""
    return st.session_state.pop(PENDING_KEY, None)


def draw_outcome() -> None:
    """The last paste's refusal or test-call notice, and the notes of the last pre-fill."""
    status = st.session_state.get(severity_form.ECALL_STATUS_KEY)
    if status is not None and status["kind"] == "error":
        st.error(plain(status["text"]) + "  \nLe formulaire n’a pas été modifié.", icon=":material/error:")
    elif status is not None:
        st.info(plain(status["text"]), icon=":material/science:")
    notes = st.session_state.get(severity_form.ECALL_NOTES_KEY)
    if notes is not None:
        _draw_notes(notes)


def _draw_notes(notes: dict[str, Any]) -> None:
    with st.container(border=True, key=NOTES_BOX_KEY):
        title = ("Pré-rempli depuis le message eCall **précédent** (le nouveau n’a rien changé)"
                 if notes.get("previous") else "**Pré-rempli depuis le message eCall**")
        st.markdown(title + "\n\n"
                    + "\n".join(f"- {plain(fact)}" for fact in notes["facts"]))
        for signal in notes["signals"]:
            st.warning("**Signal hors modèle** : " + plain(signal), icon=":material/notification_important:")
        for warning in notes["warnings"]:
            st.warning("**À vérifier** : " + plain(warning), icon=":material/wrong_location:")
        if notes["unknown"]:
            st.caption("Inconnu du message, à demander à l’appelant : " + plain(", ".join(notes["unknown"])) + ".")
        st.caption(FORM_VEHICLE_NOTE)
