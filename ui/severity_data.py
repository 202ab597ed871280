"""Cached severity model, past accidents and place-picker pieces for the severity and model pages."""

from __future__ import annotations

import streamlit as st

from core.dispatch import nearby, picker
from core.maps import deck
from core.model.loading import SeverityModel, load_model
from core.model.predict import warm_up
from ui import data


@st.cache_resource(show_spinner="Chargement du modèle de gravité…")
def severity_model() -> SeverityModel:
    """The committed model, loaded and checked against its card once per server, and warmed up."""
    model = load_model()
    warm_up(model)
    return model


@st.cache_resource(show_spinner="Chargement des accidents passés…")
def past_accidents() -> nearby.PastAccidents:
    """The accidents of the model's history years, in memory, for "similar accidents nearby"."""
    first, last = severity_model().card.years.history
    return nearby.load_past_accidents(data.connection(), first_year=int(first), last_year=int(last))


@st.cache_resource(show_spinner=False)
def _outlines() -> dict:
    return deck.load_outlines()


@st.cache_data(show_spinner=False, max_entries=128)
def communes(dep: str) -> list[tuple[str, str]]:
    """(code, name) of the communes of a department that appear in the store."""
    return picker.communes_of(data.connection(), dep)


@st.cache_resource(show_spinner=False)
def _pickable_departments() -> list[dict]:
    return picker.pickable_departments(_outlines())


@st.cache_data(show_spinner=False, max_entries=64)
def place_picker(dep: str | None, point: tuple[float, float] | None) -> deck.DeckJson:
    """The place-picker map of a department (or of France) with the chosen point."""
    resolution, cells = picker.department_cells(_outlines(), dep) if dep else (0, [])
    return picker.place_picker_deck(_outlines(), _pickable_departments(), dep=dep, resolution=resolution,
                                      cells=cells, point=point)
