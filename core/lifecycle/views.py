"""The lifecycle's records as the model page shows them: the version in service, the gate, the drift table.

Why a module of its own
-----------------------
The page must stay thin and :mod:`core` testable without Streamlit: these
functions turn the records written by the commands (``registry.json``,
``data/lifecycle/*.json``) into French sentences and table rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.formatting import format_count, format_decimal, format_percent


def served_sentence(model_version: str, registry: Mapping[str, Any] | None) -> str:
    """Which model is in service, in one sentence.

    Examples
    --------
    >>> served_sentence("1.2.0", None)[:60]
    'Modèle 1.2.0, non enregistré sur cette installation (il le s'
    >>> served_sentence("1.2.0", {"name": "gravite-severity", "version": 3, "promoted": "2026-12-03T10:00:00+00:00",
    ...                           "reason": "portail passé", "run_id": "ab"})
    'Modèle 1.2.0, version 3 du registre « gravite-severity », en service depuis le 2026-12-03 : portail passé.'
    """
    if registry is None:
        return (f"Modèle {model_version}, non enregistré sur cette installation (il le sera au premier "
                "`python -m core retrain`, `drift` ou `train`).")
    return (f"Modèle {model_version}, version {registry['version']} du registre « {registry['name']} », en service "
            f"depuis le {str(registry['promoted'])[:10]} : {registry['reason']}.")


def gate_rows(record: Mapping[str, Any]) -> list[dict[str, str]]:
    """One row per check of a gate decision: the rule in words, the two figures, passed or not."""
    rows = []
    for check in record["decision"]["checks"]:
        figures = {key: check.get(key) for key in ("champion", "challenger")}
        rows.append({
            "Règle": _rule_name(check["rule"]),
            "Champion": "–" if figures["champion"] is None else _figure(check["rule"], figures["champion"]),
            "Challenger": "–" if figures["challenger"] is None else _figure(check["rule"], figures["challenger"]),
            "Résultat": ("passé" if check["passed"] else "refusé") + " : " + check["text"],
        })
    return rows


def _rule_name(rule: str) -> str:
    names = {"evidence": "Assez d’accidents pour juger", "auc": "ROC-AUC (grave)", "ece": "Calibration (ECE)",
             "subgroups": "Sous-groupes"}
    return names.get(rule, "Sous-groupe" if rule.startswith("subgroup:") else rule)


def _figure(rule: str, value: float) -> str:
    return format_count(value) if rule == "evidence" else format_decimal(value, 3)


def gate_sentence(record: Mapping[str, Any]) -> str:
    """The decision in one sentence: who stays or comes in, judged on which year, when."""
    decision = record["decision"]
    outcome = (f"le challenger, {record['challenger']['words']}, a été mis en service" if record["promoted"]
               else f"le champion, {record['champion']['words']}, est resté en service")
    return (f"Le {record['at'][:10]}, jugé sur {decision['year']} ({format_count(decision['n'])} accidents) : "
            f"{outcome}.")


def drift_rows(report: Mapping[str, Any]) -> list[dict[str, str]]:
    """One row per field (highest PSI first), then the predicted risk: PSI, flag, unknown shares."""
    rows = [{"Champ": entry["label"], "PSI": format_decimal(entry["psi"], 2),
             "Dérive (> 0,2)": "oui" if entry["flagged"] else "non",
             "Inconnu, référence": format_percent(entry["unknown_share"]["reference"]),
             "Inconnu, comparé": format_percent(entry["unknown_share"]["current"])}
            for entry in report["fields"]]
    risk = report["risk"]
    rows.append({"Champ": risk["label"], "PSI": format_decimal(risk["psi"], 2),
                 "Dérive (> 0,2)": "oui" if risk["flagged"] else "non",
                 "Inconnu, référence": f"moyenne {format_percent(risk['mean']['reference'])}",
                 "Inconnu, comparé": f"moyenne {format_percent(risk['mean']['current'])}"})
    return rows


def drift_sentence(report: Mapping[str, Any]) -> str:
    """What was compared with what, when, and what drifted."""
    years = report["reference"]["years"]
    flagged = len(report["flagged"])
    verdict = (f"{flagged} en dérive (PSI au-delà de {format_decimal(report['threshold'], 1)})" if flagged
               else "aucune dérive")
    return (f"Le {report['at'][:10]} : {report['source']} ({format_count(report['current']['rows'])}) comparés aux "
            f"accidents d’entraînement {years[0]}–{years[1]} ({format_count(report['reference']['rows'])}) : "
            f"{verdict}.")
