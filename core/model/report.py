"""The model card in words and figures: the tables and figure of the model page, the command line's report.

Why a module of its own
-----------------------
The card (:mod:`core.model.card`) is data meant for machines. An operator
deciding how far to trust an estimate needs it in French: the test-year
figures beside the baselines and a sourced peer, by subgroup, the calibration
as a figure, the risk bands and the alert thresholds with what they flag, and
the limits of what the model can know, with their figures counted in the
store. These builders return DataFrames of text (``st.table`` leaves numeric
cells blank), a Plotly figure and sentences; the page only draws them.
:func:`format_card` is the same card as a plain-text report for
``python -m core train`` and ``evaluate``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np
import pandas as pd

from core.codebook import HOSPITALISATION_BREAK_YEAR
from core.formatting import format_count, format_decimal, format_percent
from core.incident.fields import FIELD_LABELS
from core.model.card import ModelCard
from core.model.card_figures import BinaryMetrics, Threshold
from core.model.metrics import BAND_KEYS, BAND_RULES, PRECISION_FALLBACK, PRECISION_RULES, RECALL_RULES
from core.model.risk_bands import BANDS, band_range_text, band_thresholds

if TYPE_CHECKING:
    import plotly.graph_objects as go


@dataclass(frozen=True)
class Peer:
    """A published figure of another severity model on the BAAC, with where it is published.

    ``metric`` is the indicator compared: ``auc`` (ROC-AUC of "killed or
    hospitalised") or ``recall`` (of the same target, compared with our
    ``recall_80`` threshold).
    """

    study: str
    test_year: int
    indicator: str
    metric: str
    value: float
    source: str


#: Other models' figures on the BAAC, each with its source. A recall of 0.807 with LightGBM tested on
#: 2023, quoted by the severity model's issue without a source, was dropped: none could be found.
PEERS: Final = (
    Peer("CatBoost (projet public, données 2021–2024)", 2024, "ROC-AUC", "auc", 0.8174637785130677,
         "« UC1 — Priorisation des Secours », https://github.com/lougail/accidents_routiers "
         "(models/metadata_UC1.json : entraînement 2021–2023, test 2024, cible « grave »)"),
)

SUBGROUP_LABELS: Final[dict[str, str]] = {
    "urban (agg 2)": "En agglomération",
    "rural (agg 1)": "Hors agglomération",
    "metropolitan": "Métropole",
    "overseas": "Outre-mer",
    "day (lum 1)": "Plein jour",
    "dusk or dawn (lum 2)": "Crépuscule ou aube",
    "night (lum 3-5)": "Nuit",
    "pedestrian involved": "Piéton impliqué",
    "no pedestrian": "Sans piéton",
    "two-wheeler involved": "Deux-roues motorisé impliqué",
    "no two-wheeler": "Sans deux-roues motorisé",
}

#: The year of lockdowns, when a test year on it is no ordinary year.
LOCKDOWN_YEAR: Final = 2020

#: The targets in the page's words.
TARGET_LABELS: Final = {"severe": "Tué ou blessé hospitalisé", "fatal": "Tué"}


def _count(totals: pd.DataFrame, year: int, column: str) -> int | None:
    """``column`` of ``year`` in :func:`core.queries.yearly_totals`, None when the store lacks the year."""
    rows = totals.loc[totals["year"] == year, column]
    return int(rows.iloc[0]) if len(rows) else None


def limits(card: ModelCard, totals: pd.DataFrame) -> list[str]:
    """What the estimate cannot know, in French, its figures counted in the store.

    Parameters
    ----------
    card : ModelCard
        Gives the validation and test years.
    totals : pandas.DataFrame
        :func:`core.queries.yearly_totals` of the store (year, accidents, hospitalised).

    Examples
    --------
    >>> from core.queries import yearly_totals
    >>> limits(model.card, yearly_totals(con))[3][:92]
    '2020, l’année de test, est une année de confinements (trafic réduit, 47\\u202f744 accidents contre'
    """
    change = HOSPITALISATION_BREAK_YEAR
    before, after = (_count(totals, year, "hospitalised") for year in (change - 1, change))
    counted = (f" : dans ces données, leur nombre passe de {format_count(before)} en {change - 1} à "
               f"{format_count(after)} en {change}" if before is not None and after is not None else "")
    sentences = [
        "Le modèle ne voit que ce que la base BAAC enregistre. Des faits qu’un appelant peut donner ne s’y "
        "trouvent pas : éjection d’un occupant, personne incarcérée (désincarcération nécessaire), véhicule en feu "
        "ou sur le toit, victime inconsciente ou qui ne respire pas, âge et état apparent des victimes. Ils priment "
        "sur l’estimation.",
        f"L’ONISR a changé en {change} la façon d’enregistrer les blessés hospitalisés{counted}. Les parts "
        f"d’accidents graves avant et après {change} ne sont donc pas comparables. Le modèle porte la période "
        f"d’enregistrement comme variable et ses probabilités sont calibrées sur {card.years.validation}, donc selon "
        "l’enregistrement actuel.",
        "La base ne contient que des accidents corporels (au moins un blessé) : « Indemne » ne peut pas être la "
        "pire blessure d’un accident, et un appel pour un accident sans blessé n’a pas d’équivalent dans les "
        "données.",
    ]
    test, validation = card.years.test, card.years.validation
    n_test, n_validation = _count(totals, test, "accidents"), _count(totals, validation, "accidents")
    if test == LOCKDOWN_YEAR and n_test is not None and n_validation is not None:
        sentences.append(f"{test}, l’année de test, est une année de confinements (trafic réduit, "
                         f"{format_count(n_test)} accidents contre {format_count(n_validation)} en {validation}) : "
                         "les performances mesurées peuvent différer de celles d’une année ordinaire.")
    sentences.append("Les accidents comparables et l’historique des lieux s’arrêtent à la dernière année "
                     "d’entraînement ; les aménagements récents d’une route n’y figurent pas.")
    return sentences


def metrics_table(card: ModelCard) -> pd.DataFrame:
    """Test-year figures of the model and of its baselines, as text (one row per model and target)."""
    test = card.metrics.test
    rows = []
    for target, label in TARGET_LABELS.items():
        entries = (("Modèle (XGBoost calibré)", test.severe if target == "severe" else test.fatal),
                   ("Régression logistique", test.baselines.logistic_regression.of(target)),
                   (f"Taux de base ({card.years.validation})", test.baselines.base_rate.of(target)))
        for name, figures in entries:
            rows.append({
                "Cible": label, "Modèle": name, "ROC-AUC": format_decimal(figures.auc, 3),
                "Brier": format_decimal(figures.brier, 4),
                "Log loss": format_decimal(figures.log_loss, 4),
                "ECE (10 classes)": format_decimal(figures.ece, 4),
                "Part observée": format_decimal(figures.observed, 3),
                "Part prédite moyenne": format_decimal(figures.mean_predicted, 3),
            })
    return pd.DataFrame(rows)


#: The eCall figures of the card, in the order the page shows them, with their French names.
ECALL_ROWS: Final = (
    ("full_call", "Appel complet (tous les champs enregistrés)"),
    ("msd_facts", "Faits du MSD : lieu, heure, catégories de tous les véhicules, personnes"),
    ("message", "Un message eCall (véhicule appelant seul), calibration eCall"),
    ("message_uncalibrated", "Le même message, sans la calibration eCall"),
    ("untrusted_position", "Le même message, position non fiable"),
)


def ecall_table(card: ModelCard) -> pd.DataFrame:
    """The test year's figures on the accidents replayed as eCall messages, beside the full call (text)."""
    test = card.ecall.test
    rows = []
    for key, name in ECALL_ROWS:
        figures = getattr(test, key)
        rows.append({
            "Ce que le centre sait": name,
            "ROC-AUC (grave)": format_decimal(figures.severe.auc, 3),
            "ECE (grave)": format_decimal(figures.severe.ece, 3),
            "Part grave prédite": format_decimal(figures.severe.mean_predicted, 3),
            "ROC-AUC (tué)": format_decimal(figures.fatal.auc, 3),
            "ECE (tué)": format_decimal(figures.fatal.ece, 4),
        })
    return pd.DataFrame(rows)


#: The people modes of the card, in the order the page shows them, with their French names.
PEOPLE_ROWS: Final = (
    ("all_described", "Toutes les personnes décrites (rôle, âge et sexe tels que relevés)"),
    ("some_described", "Une partie des personnes et de ce qu’on en sait (chaque personne, chaque fait omis 3 fois "
                       "sur 10)"),
    ("none_described", "Personne décrit (comme avant la version 2)"),
)


def people_table(card: ModelCard) -> pd.DataFrame:
    """The test year's figures with the people described, partly described, not described (text)."""
    rows = []
    for key, name in PEOPLE_ROWS:
        figures = getattr(card.metrics.test.people, key)
        rows.append({
            "Ce que l’appelant dit des personnes": name,
            "ROC-AUC (grave)": format_decimal(figures.severe.auc, 3),
            "ECE (grave)": format_decimal(figures.severe.ece, 3),
            "ROC-AUC (tué)": format_decimal(figures.fatal.auc, 3),
            "ECE (tué)": format_decimal(figures.fatal.ece, 4),
            "ROC-AUC (grave), piéton impliqué": format_decimal(figures.pedestrian_severe_auc, 3),
        })
    return pd.DataFrame(rows)


def subgroup_table(card: ModelCard) -> pd.DataFrame:
    """Test-year figures by subgroup (French names), as text."""
    rows = []
    for name, figures in card.metrics.test.subgroups.items():
        severe = figures.severe
        rows.append({
            "Sous-groupe": SUBGROUP_LABELS.get(name, name), "Accidents": format_count(severe.n),
            "Part grave observée": format_decimal(severe.observed, 3),
            "Part grave prédite": format_decimal(severe.mean_predicted, 3),
            "ROC-AUC (grave)": format_decimal(severe.auc, 3),
            "ECE (grave)": format_decimal(severe.ece, 4),
            "ROC-AUC (tué)": format_decimal(figures.fatal_auc, 3),
        })
    return pd.DataFrame(rows)


def peers_table(card: ModelCard) -> pd.DataFrame:
    """Our test-year figure beside each peer's, on the same indicator, with the peer's source."""
    test = card.metrics.test
    ours = {"auc": test.severe.auc, "recall": test.thresholds.severe["recall_80"].recall}
    return pd.DataFrame([{
        "Étude": peer.study, "Année de test": str(peer.test_year), "Indicateur": peer.indicator,
        "Publié": format_decimal(peer.value, 3), f"Gravité (test {test.year})": format_decimal(ours[peer.metric], 3),
        "Source": peer.source,
    } for peer in PEERS])


def peers_note(card: ModelCard) -> str:
    """What the comparison with the peers is worth, from the peers' test years."""
    years = ", ".join(str(year) for year in sorted({peer.test_year for peer in PEERS}))
    note = f"Indicatif : autres années de test ({years} contre {card.metrics.test.year}) et autres variables d’entrée."
    if any(peer.metric == "recall" for peer in PEERS):
        note += " Notre rappel est celui du seuil « 80 % des accidents graves » choisi sur la validation."
    return note


def calibration_frame(card: ModelCard, target: str = "severe") -> pd.DataFrame:
    """The test-year calibration table of a target (bins with incidents only)."""
    table = pd.DataFrame([dataclasses.asdict(row) for row in card.metrics.test.calibration_table.of(target)])
    return table[table["n"] > 0].reset_index(drop=True)


def importance_by_field(card: ModelCard) -> list[tuple[str, float]]:
    """Share of the model's total gain per input field (French names), largest first."""
    return [(FIELD_LABELS.get(name, name), share) for name, share in card.importance.items()]


def features_by_field(card: ModelCard) -> dict[str, list[str]]:
    """The model's features grouped by the input field they come from (French field names)."""
    grouped: dict[str, list[str]] = {}
    for name in card.features.names:
        source = card.features.source[name]
        grouped.setdefault(FIELD_LABELS.get(source, source), []).append(name)
    return grouped


def calibration_figure(card: ModelCard, target: str = "severe") -> go.Figure:
    """Predicted against observed share per probability bin on the test year, with the diagonal.

    Marker area follows the number of accidents of each bin.
    """
    import plotly.graph_objects as go

    table = calibration_frame(card, target)
    year = card.metrics.test.year
    name = TARGET_LABELS[target].lower()
    sizes = 8 + 30 * np.sqrt(table["n"] / table["n"].max())
    figure = go.Figure()
    figure.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="Calibration parfaite",
                       line={"color": "#888", "dash": "dash"}, hoverinfo="skip")
    figure.add_scatter(
        x=table["mean_predicted"], y=table["observed"], mode="lines+markers", name=f"Modèle ({year})",
        marker={"size": sizes, "color": "#1f5fa8"}, line={"color": "#1f5fa8"},
        customdata=np.column_stack([table["n"], table["low"], table["high"]]),
        hovertemplate="Prédit %{x:.1%} – observé %{y:.1%}<br>%{customdata[0]:,} accidents "
                      "(classe %{customdata[1]:.0%}–%{customdata[2]:.0%})<extra></extra>",
    )
    figure.update_layout(
        height=420, margin={"l": 10, "r": 10, "t": 40, "b": 10}, separators=", ",
        title={"text": f"Calibration sur {year} : probabilité « {name} » prédite et part observée",
               "font": {"size": 14}},
        xaxis={"title": "Probabilité prédite (moyenne de la classe)", "tickformat": ".0%", "range": [0, 1]},
        yaxis={"title": "Part observée", "tickformat": ".0%", "range": [0, 1]},
        legend={"orientation": "h", "y": -0.2},
    )
    return figure


def start_year_table(card: ModelCard) -> pd.DataFrame:
    """The start years tried on the validation year, as text (the chosen one marked)."""
    chosen = card.start_year.chosen
    return pd.DataFrame([{
        "Première année": f"{c.start_year}{' (retenue)' if c.start_year == chosen else ''}",
        "Accidents d’entraînement": format_count(c.training_rows),
        "ROC-AUC (validation)": format_decimal(c.auc, 4),
        "Log loss": format_decimal(c.log_loss, 4),
        "Brier": format_decimal(c.brier, 4),
    } for c in card.start_year.candidates])


#: What each alert threshold is used for (the band cut-offs follow BAND_RULES; recall_80 meets recall peers).
_RULE_ROLES: Final = {
    BAND_RULES["medium_from"]: "bas de la bande « Moyen »",
    BAND_RULES["high_from"]: "bas de la bande « Élevé »",
    **({"recall_80": "comparaison avec les travaux publiés"} if any(p.metric == "recall" for p in PEERS) else {}),
}


def _rule_name(rule: str, fallback: str | None = None) -> str:
    """A threshold's rule in French, from the rule constants, with its use and any fallback."""
    if rule in RECALL_RULES:
        name = f"Le plus haut seuil qui retrouve encore {format_percent(RECALL_RULES[rule], 0)} des accidents graves"
    elif rule in PRECISION_RULES:
        name = (f"Le plus bas seuil où au moins {format_percent(PRECISION_RULES[rule], 0)} des accidents signalés "
                "étaient graves")
    elif rule == PRECISION_FALLBACK:
        name = "Meilleur F1 (équilibre entre précision et rappel)"
    else:
        name = rule
    if rule in _RULE_ROLES:
        name += f" ({_RULE_ROLES[rule]})"
    if fallback:
        name += f" — jamais atteint sur la validation, remplacé par : {_rule_name(fallback).split(' (')[0]}"
    return name


def thresholds_table(card: ModelCard, target: str = "severe") -> pd.DataFrame:
    """Each alert threshold with its share flagged, precision and recall on validation and test years.

    Thresholds were chosen on the validation year; the test-year columns are for information.
    """
    validation_year, test = card.years.validation, card.metrics.test
    chosen_rules: dict[str, Threshold] = card.thresholds.of(target)
    rows = []
    for rule, chosen in sorted(chosen_rules.items(), key=lambda item: item[1].threshold):
        on_test = test.thresholds.of(target)[rule]
        rows.append({
            "Seuil": format_percent(chosen.threshold, 1),
            "Règle": _rule_name(rule, chosen.fallback),
            f"Signalés {validation_year}": format_percent(chosen.flagged_share, 0),
            f"Précision {validation_year}": format_decimal(chosen.precision, 3),
            f"Rappel {validation_year}": format_decimal(chosen.recall, 3),
            f"Signalés {test.year} (test)": format_percent(on_test.flagged_share, 0),
            f"Précision {test.year} (test)": format_decimal(on_test.precision, 3),
            f"Rappel {test.year} (test)": format_decimal(on_test.recall, 3),
        })
    return pd.DataFrame(rows)


def bands_table(card: ModelCard) -> pd.DataFrame:
    """The three risk bands: probabilities, then accidents and observed severe share on validation and test.

    The validation columns are those the bands were chosen on; the test
    columns (labelled "test, pour information") played no part in the choice.
    """
    thresholds = band_thresholds(card)
    validation, test = card.bands.validation, card.bands.test
    rows = []
    for key in BAND_KEYS:
        chosen_on, on_test = validation.of(key), test.of(key)
        rows.append({
            "Bande": BANDS[key].label,
            "Probabilité « grave »": band_range_text(key, thresholds),
            f"Part des accidents {validation.year}": format_percent(chosen_on.share, 0),
            f"Part grave observée {validation.year}": format_percent(chosen_on.observed, 0),
            f"Part des accidents graves {validation.year}": format_percent(chosen_on.share_of_positives, 0),
            f"Part des accidents {test.year} (test, pour information)": format_percent(on_test.share, 0),
            f"Part grave observée {test.year} (test, pour information)": format_percent(on_test.observed, 0),
        })
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- #
# The card as plain text, for the command line
# --------------------------------------------------------------------------- #


def _fixed(value: float | None, spec: str) -> str:
    """``value`` formatted by ``spec`` (``".4f"``, ``".1%"``), ``-`` when the card has none (no accident, one class)."""
    return "-" if value is None else format(value, spec)


def _metrics_row(name: str, m: BinaryMetrics) -> str:
    return (f"{name:<34}{_fixed(m.auc, '.4f'):>8}{_fixed(m.brier, '.4f'):>9}{_fixed(m.ece, '.4f'):>8}"
            f"{_fixed(m.mean_predicted, '.4f'):>9}{_fixed(m.observed, '.4f'):>10}")


def format_card(card: ModelCard) -> str:
    """The card's metrics as a short text report (``python -m core train`` and ``evaluate``).

    Examples
    --------
    >>> print(format_card(model.card).splitlines()[0][:42])
    severity model 2.0.0  trained on 2015-2019
    """
    test, valid, start = card.metrics.test, card.metrics.validation, card.start_year
    first, last = card.years.training
    lines = [
        f"severity model {card.model_version}  trained on {first}-{last} ({card.training_rows:,} accidents), "
        f"data {card.data_fingerprint.hash}",
        "start year, severe (validation AUC on a held half of {}): {} -> {}".format(
            valid.year, ", ".join(f"{c.start_year}: {c.auc:.4f}" for c in start.candidates), start.chosen),
        "start year, fatal  (validation AUC on a held half of {}): {} -> {}".format(
            valid.year, ", ".join(f"{c.start_year}: {c.auc:.4f}" for c in start.candidates_fatal),
            start.chosen_fatal),
        "",
        f"{'':<34}{'AUC':>8}{'Brier':>9}{'ECE':>8}{'mean p':>9}{'observed':>10}",
        _metrics_row(f"validation {valid.year} severe", valid.severe),
        _metrics_row(f"validation {valid.year} fatal", valid.fatal),
        _metrics_row(f"test {test.year} severe", test.severe),
        _metrics_row(f"test {test.year} fatal", test.fatal),
        _metrics_row("  base rate, severe", test.baselines.base_rate.severe),
        _metrics_row("  logistic regression, severe", test.baselines.logistic_regression.severe),
        _metrics_row("  base rate, fatal", test.baselines.base_rate.fatal),
        _metrics_row("  logistic regression, fatal", test.baselines.logistic_regression.fatal),
        _metrics_row("  severe, first-call fields only", test.first_call_fields_only.severe),
        "",
        f"subgroups of {test.year} (severe){'':<13}{'n':>8}{'AUC':>8}{'ECE':>8}{'fatal AUC':>11}",
    ]
    for name, m in test.subgroups.items():
        lines.append(f"  {name:<40}{m.severe.n:>8,}{_fixed(m.severe.auc, '.4f'):>8}{_fixed(m.severe.ece, '.4f'):>8}"
                     f"{_fixed(m.fatal_auc, '.4f'):>11}")
    ecall = card.ecall.test
    lines += ["", f"eCall: {ecall.year} replayed as messages ({ecall.rows:,} accidents)"]
    for key, _name in ECALL_ROWS:
        figures = getattr(ecall, key)
        lines.append(_metrics_row(f"  {key}, severe", figures.severe))
        lines.append(_metrics_row(f"  {key}, fatal", figures.fatal))
    lines += ["", f"thresholds (chosen on {valid.year}) -> {test.year}"]
    for target in TARGET_LABELS:
        for name, t in test.thresholds.of(target).items():
            lines.append(f"  {target:<7}{name:<13} p >= {t.threshold:.3f}: flags {_fixed(t.flagged_share, '.1%')}, "
                         f"precision {_fixed(t.precision, '.3f')}, recall {_fixed(t.recall, '.3f')}")
    bands = card.bands
    lines += ["", f"bands of p_{bands.target} (cut-offs chosen on {bands.validation.year})",
              f"  {'band':<8}{'from':>7}{'to':>8}   {bands.validation.year}: share, severe rate"
              f"   {bands.test.year} (test): share, severe rate"]
    for key in BAND_KEYS:
        chosen_on, on_test = bands.validation.of(key), bands.test.of(key)
        lines.append(f"  {key:<8}{chosen_on.low_edge:>7.3f}{chosen_on.high_edge:>8.3f}   "
                     f"{_fixed(chosen_on.share, '.1%'):>10}, {_fixed(chosen_on.observed, '.1%'):>6}{'':>11}"
                     f"{_fixed(on_test.share, '.1%'):>10}, {_fixed(on_test.observed, '.1%'):>6}")
    return "\n".join(lines)
