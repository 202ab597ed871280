"""The estimate drawn for an operator: one story in two figures first, then why, then the past accidents like it.

The model's estimate and the share of severe accidents among comparable past
accidents stand side by side, each saying what it is. A call that tells
neither the place nor a key fact gets the base rate, shown as what it is (the
share of injury accidents with a severe victim), with no band.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any, Final

import pandas as pd
import streamlit as st

from core.dispatch import bands, intake, nearby, session
from core.dispatch.ecall import as_message_result, message_key_facts
from core.dispatch.ecall_form import ECALL_ESTIMATE_NOTE
from core.features.facts import describe_key_facts
from core.formatting import format_count, format_percent
from core.model.card import ModelCard
from core.model.loading import SeverityModel
from core.model.predict import predict_one
from core.model.risk_bands import band_thresholds
from ui.text import plain

ESTIMATES_KEY: Final = "severity_estimates"
CURRENT_KEY: Final = "severity_current"  # index of the estimate shown; cleared by "Nouvel appel"
JUST_MADE_KEY: Final = "severity_just_made"  # set by a submit, so that a phone scrolls to the answer once
SIMILAR_LIMIT: Final = 8
#: Below this width Streamlit stacks the columns: the answer is below the form and must be scrolled to.
STACKED_WIDTH_PX: Final = 640


def estimate(model: SeverityModel, past: nearby.PastAccidents, incident: Mapping[str, Any], *,
             from_message: bool = False) -> dict[str, Any]:
    """Predict, compare with history, add the estimate to the session's list and return it.

    ``from_message`` says the incident is exactly a pasted eCall message's: it is then answered as the
    API's eCall route answers (:func:`core.dispatch.ecall.as_message_result`).
    """
    result = predict_one(model, incident)
    told = bands.call_facts(incident)
    facts = told.key_facts
    if from_message:  # a message knows its own vehicle only: no "without a two-wheeler" facts
        facts = message_key_facts(incident)
        result = as_message_result(model, result, incident)
    band = None if told.empty else bands.severity_band(result["p_severe"], band_thresholds(model.card))
    missing = told.similar_missing
    similar = None if missing else nearby.similar_table(nearby.similar_nearby(past, incident, limit=SIMILAR_LIMIT,
                                                                              facts=facts))
    estimates = st.session_state.setdefault(ESTIMATES_KEY, [])
    made_at = intake.local_moment(incident.get("dep"))
    record = {
        "incident": dict(incident),
        "result": result,
        "empty": told.empty,
        "band": band,
        "facts": facts,
        "similar": similar,
        "similar_missing": missing,
        "ecall": from_message,
        "row": session.estimate_row(len(estimates) + 1, incident, result, band, made_at=made_at),
    }
    estimates.append(record)
    st.session_state[CURRENT_KEY] = len(estimates) - 1
    st.session_state[JUST_MADE_KEY] = True
    return record


def current() -> dict[str, Any] | None:
    """The estimate of the call in progress, if one was made."""
    estimates = st.session_state.get(ESTIMATES_KEY) or []
    index = st.session_state.get(CURRENT_KEY)
    return estimates[index] if index is not None and index < len(estimates) else None


def _percent(value: float) -> str:
    return format_percent(value, 0) if value >= 0.01 else format_percent(value, 1)


def _comparables(result: Mapping[str, Any], facts: Mapping[str, int], years: tuple[int, int]) -> str:
    """The right half of the headline: the comparable past accidents, or why there are none."""
    first, last = years
    out_of_100 = bands.out_of_100(result)
    if not facts or out_of_100 is None:
        return ('<div data-testid="severity-comparables"><div style="font-size:1.1rem;font-weight:600">'
                'Pas de comparaison</div><div style="font-size:0.9rem">aucun fait clé connu (véhicules, piéton, '
                'agglomération, route, jour ou nuit, obstacle) : l’estimation repose sur le lieu et les '
                'conditions</div></div>')
    return (
        f'<div data-testid="severity-comparables" data-out-of-100="{out_of_100}">'
        f'<div style="font-size:2.2rem;font-weight:700;line-height:1.05">{out_of_100} sur 100</div>'
        f'<div style="font-size:0.9rem">accidents passés <b>comparables</b> ont eu un tué ou un blessé hospitalisé '
        f': les {format_count(result["support"])} accidents {first}–{last} de mêmes faits clés '
        f'({html.escape(describe_key_facts(facts))}), sans le lieu ni l’heure</div></div>'
    )


def _headline(record: Mapping[str, Any], years: tuple[int, int]) -> str:
    result, band = record["result"], record["band"]
    return (
        f'<div data-testid="severity-estimate" data-p-severe="{result["p_severe"]:.6f}" '
        f'data-p-fatal="{result["p_fatal"]:.6f}" style="border-left:0.5rem solid {band.colour};'
        f'padding:0.1rem 1rem;display:flex;gap:1.4rem;align-items:flex-start;flex-wrap:wrap">'
        f'<div style="flex:1 1 12rem"><div style="font-size:3.4rem;font-weight:700;line-height:1.05;'
        f'color:{band.colour}">{_percent(result["p_severe"])}</div>'
        f'<div style="font-size:0.9rem"><b>estimation</b> du risque d’un <b>tué ou blessé hospitalisé</b>, parmi les '
        f'accidents corporels, d’après tous les faits saisis</div>'
        f'<div style="margin-top:0.4rem"><span data-testid="severity-band" style="background:{band.colour};'
        f'color:white;border-radius:0.3rem;padding:0.15rem 0.6rem;font-weight:600">Risque {band.label.lower()}'
        f'</span></div>'
        f'<div data-testid="severity-fatal" style="margin-top:0.4rem">Risque d’un tué : '
        f'<b style="font-size:1.5rem">{_percent(result["p_fatal"])}</b></div></div>'
        f'<div style="flex:1 1 12rem">{_comparables(result, record["facts"], years)}</div></div>'
    )


def _base_rate_block(card: ModelCard) -> str:
    year, share = bands.base_rate(card)
    return (
        f'<div data-testid="severity-base-rate" data-share="{share:.6f}" style="border-left:0.5rem solid #888;'
        f'padding:0.1rem 1rem"><div style="font-size:1.1rem;font-weight:600">Pas d’estimation : ni le lieu ni '
        f'aucun fait clé n’est connu</div><div style="margin-top:0.3rem">Seule la moyenne est connue : '
        f'<b style="font-size:1.6rem">{_percent(share)}</b> des accidents corporels de {year} ont fait un tué ou un '
        f'blessé hospitalisé.</div><div style="margin-top:0.3rem;font-size:0.9rem">Demandez d’abord le lieu, les '
        f'véhicules (ou un piéton), en agglomération ou non, de jour ou de nuit.</div></div>'
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


def draw_input_warnings(result: Mapping[str, Any]) -> None:
    """What looks wrong in the call but was scored (a point far from its department, a date in the future...)."""
    warnings = result.get("warnings") or []
    if warnings:
        st.warning("À vérifier :\n" + "\n".join(f"- {plain(w['reason'])}" for w in warnings), icon=":material/rule:")


def draw_estimate(record: Mapping[str, Any], card: ModelCard) -> None:
    """Draw one estimate: the two figures and the band, warnings, bands' meaning, worst injury, factors."""
    result = record["result"]
    years = card.years.training
    if record["empty"]:
        st.html(_base_rate_block(card))
        draw_input_warnings(result)
        return
    st.html(_headline(record, years))
    if record.get("ecall"):
        st.caption(ECALL_ESTIMATE_NOTE)
    draw_input_warnings(result)
    warning = bands.support_warning(result, record["facts"], years=years)
    if warning:
        st.warning(warning, icon=":material/warning:")
    up, down = bands.factors_by_direction(result)
    factors = st.columns(2)
    factors[0].html(_factor_list("Ce qui augmente le risque", up, "▲", "#c62828"))
    factors[1].html(_factor_list("Ce qui le diminue", down, "▼", "#1a7f37"))
    st.html(_injury_bar(result))
    # The three bands with what each held on the validation year; the estimate's own band in bold.
    with st.expander("Que veulent dire les bandes ?"):
        sentences = [f"**{text}**" if shown.key == record["band"].key else text
                     for shown, text in bands.band_sentences(card)]
        st.caption("  \n".join([*sentences, bands.band_rule_text(card)]))


def scroll_to_answer_on_phones() -> None:
    """Once after a submit, bring the answer into view where the columns are stacked (narrow screens)."""
    if not st.session_state.pop(JUST_MADE_KEY, False):
        return
    st.html(
        f"<script>if (window.innerWidth < {STACKED_WIDTH_PX}) {{"
        "const answer = window.parent.document.querySelector('.st-key-severity_result') "
        "|| document.querySelector('.st-key-severity_result');"
        "if (answer) answer.scrollIntoView({block: 'start'});}</script>",
        unsafe_allow_javascript=True, width=1)


def draw_similar(record: Mapping[str, Any], past: nearby.PastAccidents) -> None:
    """The most similar past accidents near the place, or what the call must tell first."""
    st.subheader("Accidents passés similaires à proximité")
    if record.get("similar_missing"):
        st.info(f"Pour les montrer, il faut connaître {record['similar_missing']}.")
        return
    similar: pd.DataFrame = record["similar"]
    if similar.empty:
        st.info("Aucun accident passé ne partage les faits clés connus.")
        return
    st.caption(f"Accidents {past.first_year}–{past.last_year} partageant les faits clés connus, les plus proches "
               "d’abord (sans coordonnées : même commune, puis même département), puis les plus récents.")
    st.table(similar)


def draw_session() -> None:
    """The session's estimates, newest first, and their CSV export; times in each incident's local time."""
    estimates = st.session_state.get(ESTIMATES_KEY) or []
    if not estimates:
        return
    st.subheader("Estimations de la session")
    rows = [record["row"] for record in estimates]
    table = pd.DataFrame({
        "N°": [str(r["numero"]) for r in rows],
        "Heure (locale)": [r["heure_estimation"][11:16] for r in rows],
        "Risque grave": ["–" if r["p_grave"] is None else format_percent(r["p_grave"], 0) for r in rows],
        "Bande": [r["bande"] for r in rows],
        "Risque de tué": ["–" if r["p_tue"] is None else format_percent(r["p_tue"], 1) for r in rows],
        "Sur 100 comparables": ["–" if r["sur_100_comparables"] is None else str(r["sur_100_comparables"])
                                for r in rows],
        "Appel": [r["resume"] for r in rows],
    })
    st.table(table.iloc[::-1], hide_index=True)
    st.download_button("Télécharger les estimations (CSV)", session.estimates_csv(rows),
                       "estimations-gravite.csv", "text/csv", key="severity_csv", on_click="ignore",
                       icon=":material/download:")
