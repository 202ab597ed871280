"""The model card in words and figures, for the reliability page.

Why a module of its own
-----------------------
The card (:mod:`core.model.train`) is JSON meant for machines and for the
command line. An operator deciding how far to trust an estimate needs it in
French: the test-year figures beside the baselines and the published peers,
by subgroup, the calibration as a figure, the risk bands and the alert
thresholds with what they flag, and the limits of what the model can know. These builders return
DataFrames of text (``st.table`` leaves numeric cells blank) and a Plotly
figure; the page only draws them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd

from core.dispatch.bands import BANDS, band_range_text, band_thresholds
from core.formatting import format_decimal, format_percent
from core.incident import FIELD_LABELS
from core.model.metrics import BAND_KEYS, BAND_RULES, PRECISION_RULES, RECALL_RULES

if TYPE_CHECKING:
    import plotly.graph_objects as go

#: Published peers on the BAAC (figures quoted by the severity model issue).
PEERS: Final = (
    {"Étude": "CatBoost (publication)", "Année de test": "2024", "Indicateur": "ROC-AUC", "value": 0.817,
     "metric": "auc"},
    {"Étude": "LightGBM (publication)", "Année de test": "2023", "Indicateur": "Rappel", "value": 0.807,
     "metric": "recall"},
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

#: What the estimate cannot know, for the reliability page.
LIMITS: Final = (
    "Le modèle ne voit que ce que la base BAAC enregistre. Des faits qu’un appelant peut donner ne s’y trouvent "
    "pas : éjection d’un occupant, personne incarcérée (désincarcération nécessaire), véhicule en feu ou sur le "
    "toit, victime inconsciente ou qui ne respire pas, âge et état apparent des victimes. Ils priment sur "
    "l’estimation.",
    "L’ONISR a changé en 2018 la façon d’enregistrer les blessés hospitalisés : dans ces données, leur nombre "
    "passe de 28 993 en 2017 à 22 169 en 2018. Les parts d’accidents graves avant et après 2018 ne sont donc pas "
    "comparables. Le modèle porte la période d’enregistrement comme variable et ses probabilités sont calibrées "
    "sur 2019, donc selon l’enregistrement actuel.",
    "La base ne contient que des accidents corporels (au moins un blessé) : « Indemne » ne peut pas être la "
    "pire blessure d’un accident, et un appel pour un accident sans blessé n’a pas d’équivalent dans les données.",
    "2020, l’année de test, est une année de confinements (trafic réduit, 47 744 accidents contre 58 840 en "
    "2019) : les performances mesurées peuvent différer de celles d’une année ordinaire.",
    "Les accidents comparables et l’historique des lieux s’arrêtent à la dernière année d’entraînement ; les "
    "aménagements récents d’une route n’y figurent pas.",
)


def metrics_table(card: Mapping[str, Any]) -> pd.DataFrame:
    """Test-year figures of the model and of its baselines, as text (one row per model and target)."""
    test = card["metrics"]["test"]
    rows = []
    for target, label in (("severe", "Tué ou blessé hospitalisé"), ("fatal", "Tué")):
        entries = (("Modèle (XGBoost calibré)", test[target]),
                   ("Régression logistique", test["baselines"]["logistic_regression"][target]),
                   (f"Taux de base ({card['years']['validation']})", test["baselines"]["base_rate"][target]))
        for name, figures in entries:
            rows.append({
                "Cible": label, "Modèle": name, "ROC-AUC": format_decimal(figures.get("auc"), 3),
                "Brier": format_decimal(figures.get("brier"), 4),
                "Log loss": format_decimal(figures.get("log_loss"), 4),
                "ECE (10 classes)": format_decimal(figures.get("ece"), 4),
                "Part observée": format_decimal(figures.get("observed"), 3),
                "Part prédite moyenne": format_decimal(figures.get("mean_predicted"), 3),
            })
    return pd.DataFrame(rows)


def subgroup_table(card: Mapping[str, Any]) -> pd.DataFrame:
    """Test-year figures by subgroup (French names), as text."""
    rows = []
    for name, figures in card["metrics"]["test"]["subgroups"].items():
        severe = figures["severe"]
        rows.append({
            "Sous-groupe": SUBGROUP_LABELS.get(name, name), "Accidents": f"{severe['n']:,}".replace(",", "\u202f"),
            "Part grave observée": format_decimal(severe.get("observed"), 3),
            "Part grave prédite": format_decimal(severe.get("mean_predicted"), 3),
            "ROC-AUC (grave)": format_decimal(severe.get("auc"), 3),
            "ECE (grave)": format_decimal(severe.get("ece"), 4),
            "ROC-AUC (tué)": format_decimal(figures.get("fatal_auc"), 3),
        })
    return pd.DataFrame(rows)


def peers_table(card: Mapping[str, Any]) -> pd.DataFrame:
    """Our test-year figure beside each published peer's, on the same indicator."""
    test = card["metrics"]["test"]
    ours = {"auc": test["severe"]["auc"], "recall": test["thresholds"]["severe"]["recall_80"]["recall"]}
    rows = []
    for peer in PEERS:
        rows.append({
            "Étude": peer["Étude"], "Année de test": peer["Année de test"], "Indicateur": peer["Indicateur"],
            "Publié": format_decimal(peer["value"], 3),
            f"Gravité (test {test['year']})": format_decimal(ours[peer["metric"]], 3),
        })
    return pd.DataFrame(rows)


def calibration_frame(card: Mapping[str, Any], target: str = "severe") -> pd.DataFrame:
    """The test-year calibration table of a target (bins with incidents only)."""
    table = pd.DataFrame(card["metrics"]["test"]["calibration_table"][target])
    return table[table["n"] > 0].reset_index(drop=True)


def importance_by_field(card: Mapping[str, Any]) -> list[tuple[str, float]]:
    """Share of the model's total gain per input field (French names), largest first."""
    labels = {**FIELD_LABELS}
    return [(labels.get(name, name), float(share)) for name, share in card.get("importance", {}).items()]


def features_by_field(card: Mapping[str, Any]) -> dict[str, list[str]]:
    """The model's features grouped by the input field they come from (French field names)."""
    grouped: dict[str, list[str]] = {}
    for name in card["features"]["names"]:
        source = card["features"]["source"].get(name, name)
        grouped.setdefault(FIELD_LABELS.get(source, source), []).append(name)
    return grouped


def calibration_figure(card: Mapping[str, Any], target: str = "severe") -> go.Figure:
    """Predicted against observed share per probability bin on the test year, with the diagonal.

    Marker area follows the number of accidents of each bin.
    """
    import plotly.graph_objects as go

    table = calibration_frame(card, target)
    year = card["metrics"]["test"]["year"]
    name = "tué ou blessé hospitalisé" if target == "severe" else "tué"
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


def start_year_table(card: Mapping[str, Any]) -> pd.DataFrame:
    """The start years tried on the validation year, as text (the chosen one marked)."""
    chosen = card["start_year"]["chosen"]
    return pd.DataFrame([{
        "Première année": f"{c['start_year']}{' (retenue)' if c['start_year'] == chosen else ''}",
        "Accidents d’entraînement": f"{c['training_rows']:,}".replace(",", "\u202f"),
        "ROC-AUC (validation)": format_decimal(c.get("auc"), 4),
        "Log loss": format_decimal(c.get("log_loss"), 4),
        "Brier": format_decimal(c.get("brier"), 4),
    } for c in card["start_year"]["candidates"]])


#: What each alert threshold is used for (the band cut-offs follow BAND_RULES).
_RULE_ROLES: Final = {
    BAND_RULES["medium_from"]: "bas de la bande « Moyen »",
    BAND_RULES["high_from"]: "bas de la bande « Élevé »",
    "recall_80": "comparaison avec les travaux publiés",
}


def _rule_name(rule: str, chosen: Mapping[str, Any]) -> str:
    """A threshold's rule in French, from the rule constants, with its use and any fallback."""
    if rule in RECALL_RULES:
        name = f"Le plus haut seuil qui retrouve encore {format_percent(RECALL_RULES[rule], 0)} des accidents graves"
    elif rule in PRECISION_RULES:
        name = (f"Le plus bas seuil où au moins {format_percent(PRECISION_RULES[rule], 0)} des accidents signalés "
                "étaient graves")
    elif rule == "best_f1":
        name = "Meilleur F1 (équilibre entre précision et rappel)"
    else:
        name = rule
    if rule in _RULE_ROLES:
        name += f" ({_RULE_ROLES[rule]})"
    if chosen.get("fallback"):
        fallback = _rule_name(chosen["fallback"], {}).split(" (")[0]
        name += f" — jamais atteint sur la validation, remplacé par : {fallback}"
    return name


def thresholds_table(card: Mapping[str, Any], target: str = "severe") -> pd.DataFrame:
    """Each alert threshold with its share flagged, precision and recall on validation and test years.

    Thresholds were chosen on the validation year; the test-year columns are for information.
    """
    validation_year = card["years"]["validation"]
    test_year = card["metrics"]["test"]["year"]
    rows = []
    for rule, chosen in sorted(card["thresholds"][target].items(), key=lambda item: item[1]["threshold"]):
        test = card["metrics"]["test"]["thresholds"][target][rule]
        rows.append({
            "Seuil": format_percent(chosen["threshold"], 1),
            "Règle": _rule_name(rule, chosen),
            f"Signalés {validation_year}": format_percent(chosen["flagged_share"], 0),
            f"Précision {validation_year}": format_decimal(chosen.get("precision"), 3),
            f"Rappel {validation_year}": format_decimal(chosen.get("recall"), 3),
            f"Signalés {test_year} (test)": format_percent(test["flagged_share"], 0),
            f"Précision {test_year} (test)": format_decimal(test.get("precision"), 3),
            f"Rappel {test_year} (test)": format_decimal(test.get("recall"), 3),
        })
    return pd.DataFrame(rows)


def bands_table(card: Mapping[str, Any]) -> pd.DataFrame:
    """The three risk bands: probabilities, then accidents and observed severe share on validation and test.

    The validation columns are those the bands were chosen on; the test
    columns (labelled "test, pour information") played no part in the choice.
    """
    thresholds = band_thresholds(card)
    validation, test = card["bands"]["validation"], card["bands"]["test"]
    rows = []
    for key in BAND_KEYS:
        rows.append({
            "Bande": BANDS[key].label,
            "Probabilité « grave »": band_range_text(key, thresholds),
            f"Part des accidents {validation['year']}": format_percent(validation[key]["share"], 0),
            f"Part grave observée {validation['year']}": format_percent(validation[key]["observed"], 0),
            f"Part des accidents graves {validation['year']}": format_percent(validation[key]["share_of_positives"], 0),
            f"Part des accidents {test['year']} (test, pour information)": format_percent(test[key]["share"], 0),
            f"Part grave observée {test['year']} (test, pour information)": format_percent(test[key]["observed"], 0),
        })
    return pd.DataFrame(rows)
