"""The estimate drawn for an operator: one big figure first, then why, then the past accidents like it."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping
from typing import Any

import pandas as pd
import streamlit as st

from core.dispatch import bands, nearby, session
from core.formatting import format_count, format_percent
from core.model.loading import SeverityModel
from core.model.predict import predict_one

ESTIMATES_KEY = "severity_estimates"
CURRENT_KEY = "severity_current"  # index of the estimate shown; cleared by "Nouvel appel"
SIMILAR_LIMIT = 8


def estimate(model: SeverityModel, past: nearby.PastAccidents, incident: Mapping[str, Any]
             ) -> dict[str, Any]:
    """Predict, compare with history, add the estimate to the session's list and return it."""
    result = predict_one(model, incident)
    thresholds = bands.band_thresholds(model.card)
    band = bands.severity_band(result["p_severe"], thresholds)
    facts = bands.known_key_facts(incident)
    similar = nearby.similar_nearby(past, incident, limit=SIMILAR_LIMIT)
    estimates = st.session_state.setdefault(ESTIMATES_KEY, [])
    record = {
        "incident": dict(incident),
        "result": result,
        "band": band,
        "facts": facts,
        "similar": nearby.similar_table(similar),
        "row": session.estimate_row(len(estimates) + 1, incident, result, band, made_at=dt.datetime.now()),
    }
    estimates.append(record)
    st.session_state[CURRENT_KEY] = len(estimates) - 1
    return record


def current() -> dict[str, Any] | None:
    """The estimate of the call in progress, if one was made."""
    estimates = st.session_state.get(ESTIMATES_KEY) or []
    index = st.session_state.get(CURRENT_KEY)
    return estimates[index] if index is not None and index < len(estimates) else None


def _percent(value: float) -> str:
    return format_percent(value, 0) if value >= 0.01 else format_percent(value, 1)


def _headline(result: Mapping[str, Any], band: bands.Band) -> str:
    return (
        f'<div data-testid="severity-estimate" data-p-severe="{result["p_severe"]:.6f}" '
        f'data-p-fatal="{result["p_fatal"]:.6f}" style="border-left:0.5rem solid {band.colour};'
        f'padding:0.1rem 1rem;display:flex;gap:1.6rem;align-items:center;flex-wrap:wrap">'
        f'<div><div style="font-size:3.6rem;font-weight:700;line-height:1.05;color:{band.colour}">'
        f'{_percent(result["p_severe"])}</div>'
        f'<div>risque d’un <b>tué ou blessé hospitalisé</b></div></div>'
        f'<div><span data-testid="severity-band" style="background:{band.colour};color:white;border-radius:0.3rem;'
        f'padding:0.15rem 0.6rem;font-weight:600">Risque {band.label.lower()}</span>'
        f'<div data-testid="severity-fatal" style="margin-top:0.5rem">Risque d’un tué : '
        f'<b style="font-size:1.6rem">{_percent(result["p_fatal"])}</b></div></div></div>'
    )


def _injury_bar(result: Mapping[str, Any]) -> str:
    colours = ("#7f0000", "#d7301f", "#fc8d59")
    shares = bands.worst_injury_shares(result)[:3]  # "Indemne" is always 0: BAAC has injury accidents only
    segments = "".join(
        f'<div title="{html.escape(label)}" style="width:{share * 100:.2f}%;background:{colour}"></div>'
        for (label, share), colour in zip(shares, colours, strict=True) if share > 0
    )
    legend = "".join(
        f'<span style="margin-right:0.9rem;white-space:nowrap"><span style="display:inline-block;width:0.8em;'
        f'height:0.8em;background:{colour};margin-right:0.3em"></span>{html.escape(label)} '
        f'<b>{_percent(share)}</b></span>'
        for (label, share), colour in zip(shares, colours, strict=True)
    )
    return (f'<div data-testid="severity-worst-injury"><div style="font-weight:600;margin-bottom:0.2rem">'
            f'Blessure la plus grave</div>'
            f'<div style="display:flex;height:1rem;border-radius:0.2rem;overflow:hidden">{segments}</div>'
            f'<div style="font-size:0.9rem;margin-top:0.2rem">{legend}</div></div>')


def _factor_list(title: str, phrases: list[str], arrow: str, colour: str) -> str:
    items = "".join(f'<li><span style="color:{colour};font-weight:700">{arrow}</span> {html.escape(p)}</li>'
                    for p in phrases) or "<li>—</li>"
    return (f'<div style="font-size:0.92rem"><b>{title}</b>'
            f'<ul style="margin:0.1rem 0 0 0;padding-left:0.2rem;list-style:none">{items}</ul></div>')


def draw_estimate(record: Mapping[str, Any], card: Mapping[str, Any]) -> None:
    """Draw one estimate: figure and band, death, worst injury, history, warning, factors."""
    result, band = record["result"], record["band"]
    first, last = card["years"]["training"]
    st.html(_headline(result, band))
    # The three bands with what each held on the validation year; the estimate's own band in bold.
    sentences = [f"**{text}**" if shown.key == band.key else text for shown, text in bands.band_sentences(card)]
    st.caption("  \n".join([*sentences, bands.band_rule_text(card)]))
    st.html(_injury_bar(result))
    out_of_100 = bands.out_of_100(result)
    if out_of_100 is not None:
        st.markdown(f"**Sur 100 accidents passés comparables, {out_of_100} ont fait un tué ou un blessé "
                    "hospitalisé.**")
        st.caption(f"{format_count(result['support'])} accidents {first}–{last} : "
                   f"{bands.describe_key_facts(record['facts'])}.")
    warning = bands.support_warning(result, record["facts"], years=(first, last))
    if warning:
        st.warning(warning, icon=":material/warning:")
    up, down = bands.factors_by_direction(result)
    factors = st.columns(2)
    factors[0].html(_factor_list("Ce qui augmente le risque", up, "▲", "#c62828"))
    factors[1].html(_factor_list("Ce qui le diminue", down, "▼", "#1a7f37"))


def draw_similar(record: Mapping[str, Any], past: nearby.PastAccidents) -> None:
    """The most similar past accidents near the place."""
    st.subheader("Accidents passés similaires à proximité")
    similar: pd.DataFrame = record["similar"]
    if similar.empty:
        st.info("Aucun accident passé ne partage les faits clés connus.")
        return
    st.caption(f"Accidents {past.first_year}–{past.last_year} partageant les faits clés connus, les plus proches "
               "d’abord (sans coordonnées : même commune, puis même département), puis les plus récents.")
    st.table(similar)


def draw_session() -> None:
    """The session's estimates, newest first, and their CSV export."""
    estimates = st.session_state.get(ESTIMATES_KEY) or []
    if not estimates:
        return
    st.subheader("Estimations de la session")
    rows = [record["row"] for record in estimates]
    table = pd.DataFrame({
        "N°": [str(r["numero"]) for r in rows],
        "Heure": [r["heure_estimation"][11:16] for r in rows],
        "Risque grave": [format_percent(r["p_grave"], 0) for r in rows],
        "Bande": [r["bande"] for r in rows],
        "Risque de tué": [format_percent(r["p_tue"], 1) for r in rows],
        "Sur 100 comparables": ["–" if r["sur_100_comparables"] is None else str(r["sur_100_comparables"])
                                for r in rows],
        "Appel": [r["resume"] for r in rows],
    })
    st.table(table.iloc[::-1], hide_index=True)
    st.download_button("Télécharger les estimations (CSV)", session.estimates_csv(rows),
                       "estimations-gravite.csv", "text/csv", key="severity_csv", on_click="ignore",
                       icon=":material/download:")
