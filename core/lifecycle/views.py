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
    """One row per field (highest PSI first), then the fields not compared, then the predicted risk.

    Examples
    --------
    >>> report = {"fields": [{"label": "Âge des personnes décrites", "psi": 0.31, "flagged": True,
    ...                       "unknown_share": {"reference": 0.0, "current": 0.02}}],
    ...           "not_compared": [{"label": "Sexe des personnes décrites", "reason": "aucune personne décrite"}],
    ...           "risk": {"label": "Risque estimé", "psi": 0.04, "flagged": False, "people": "left out",
    ...                    "mean": {"reference": 0.36, "current": 0.4}}}
    >>> [(r["Champ"], r["PSI"], r["Dérive (> 0,2)"]) for r in drift_rows(report)]  # doctest: +NORMALIZE_WHITESPACE
    [('Âge des personnes décrites', '0,31', 'oui'),
     ('Sexe des personnes décrites', '–', 'non comparé : aucune personne décrite'),
     ('Risque estimé, sans les personnes décrites', '0,04', 'non')]
    """
    rows = [{"Champ": entry["label"], "PSI": format_decimal(entry["psi"], 2),
             "Dérive (> 0,2)": "oui" if entry["flagged"] else "non",
             "Inconnu, référence": format_percent(entry["unknown_share"]["reference"]),
             "Inconnu, comparé": format_percent(entry["unknown_share"]["current"])}
            for entry in report["fields"]]
    rows += [{"Champ": entry["label"], "PSI": "–", "Dérive (> 0,2)": f"non comparé : {entry['reason']}",
              "Inconnu, référence": "–", "Inconnu, comparé": "–"}
             for entry in report.get("not_compared", ())]  # reports kept before the people fields have none
    risk = report["risk"]
    rows.append({"Champ": risk["label"] + (", sans les personnes décrites" if risk.get("people") else ""),
                 "PSI": format_decimal(risk["psi"], 2),
                 "Dérive (> 0,2)": "oui" if risk["flagged"] else "non",
                 "Inconnu, référence": f"moyenne {format_percent(risk['mean']['reference'])}",
                 "Inconnu, comparé": f"moyenne {format_percent(risk['mean']['current'])}"})
    return rows


def drift_sentence(report: Mapping[str, Any]) -> str:
    """What was compared with what, when, what drifted, and how often the incidents describe people.

    Examples
    --------
    >>> report = {"at": "2026-12-03T10:00:00+00:00", "source": "journal d’audit", "threshold": 0.2,
    ...           "reference": {"years": [2010, 2019], "rows": 612264}, "current": {"rows": 900}, "flagged": [],
    ...           "people": {"described_share": {"reference": 1.0, "current": 0.05}, "persons": {"current": 61}}}
    >>> import unicodedata  # shown with plain spaces (the text has no-break ones before % and in 612 264)
    >>> print(unicodedata.normalize("NFKC", drift_sentence(report)))  # doctest: +NORMALIZE_WHITESPACE
    Le 2026-12-03 : journal d’audit (900) comparés aux accidents d’entraînement 2010–2019 (612 264) : aucune dérive.
    Personnes décrites dans 5,0 % des incidents comparés (61 personnes), 100,0 % des accidents de référence :
    pour information, ce n’est pas une dérive.
    """
    years = report["reference"]["years"]
    flagged = len(report["flagged"])
    verdict = (f"{flagged} en dérive (PSI au-delà de {format_decimal(report['threshold'], 1)})" if flagged
               else "aucune dérive")
    sentence = (f"Le {report['at'][:10]} : {report['source']} ({format_count(report['current']['rows'])}) comparés "
                f"aux accidents d’entraînement {years[0] if years[0] == years[1] else f'{years[0]}–{years[1]}'} "
                f"({format_count(report['reference']['rows'])}) : "
                f"{verdict}.")
    people = report.get("people")  # reports kept before the people fields have none
    if people is None:
        return sentence
    share, persons = people["described_share"], people["persons"]["current"]
    return (f"{sentence} Personnes décrites dans {format_percent(share['current'])} des incidents comparés "
            f"({format_count(persons)} {'personne' if persons <= 1 else 'personnes'}), "
            f"{format_percent(share['reference'])} des accidents de référence : pour information, ce n’est pas une "
            "dérive.")
