"""Cached severity model, past accidents and place-picker pieces for the severity and model pages."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core import config
from core.dispatch import nearby, picker
from core.maps import deck
from core.model.loading import SeverityModel, load_model
from core.model.predict import warm_up
from core.model.spec import CARD_FILE, REGISTRY_FILE
from ui import data


def severity_model() -> SeverityModel:
    """The model in service (``models/``), loaded, checked against its card and warmed up once per version.

    A version put in service by ``python -m core promote`` (or a retraining) is picked up at the next rerun of
    any page: the cache is keyed by the card's and the registry note's change times.
    """
    return _loaded_model(config.MODELS_DIR, model_stamp(config.MODELS_DIR))


def model_stamp(models_dir: Path) -> tuple[int, int]:
    """When the card and the registry note last changed (0 when absent): a new model gives a new stamp."""
    return tuple(path.stat().st_mtime_ns if path.exists() else 0
                 for path in (models_dir / CARD_FILE, models_dir / REGISTRY_FILE))


@st.cache_resource(show_spinner="Chargement du modèle de gravité…", max_entries=1)
def _loaded_model(models_dir: Path, stamp: tuple[int, int]) -> SeverityModel:  # noqa: ARG001 (stamp: the cache's key)
    model = load_model(models_dir)
    warm_up(model)
    return model


def past_accidents() -> nearby.PastAccidents:
    """The accidents of the model's history years, in memory, for "similar accidents nearby"."""
    first, last = severity_model().card.years.history
    return _past_accidents(int(first), int(last))


@st.cache_resource(show_spinner="Chargement des accidents passés…", max_entries=1)
def _past_accidents(first: int, last: int) -> nearby.PastAccidents:
    return nearby.load_past_accidents(data.connection(), first_year=first, last_year=last)


@st.cache_data(show_spinner=False, max_entries=128)
def communes(dep: str) -> list[tuple[str, str]]:
    """(code, name) of the communes of a department that appear in the store."""
    return picker.communes_of(data.connection(), dep)


@st.cache_resource(show_spinner=False)
def _pickable_departments() -> list[dict]:
    return picker.pickable_departments(data.outlines())


@st.cache_data(show_spinner=False, max_entries=64)
def place_picker(dep: str | None, point: tuple[float, float] | None) -> deck.DeckJson:
    """The place-picker map of a department (or of France) with the chosen point."""
    resolution, cells = picker.department_cells(data.outlines(), dep) if dep else (0, [])
    return picker.place_picker_deck(data.outlines(), _pickable_departments(), dep=dep, resolution=resolution,
                                      cells=cells, point=point)
