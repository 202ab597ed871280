"""The promotion gate: a challenger replaces the champion only if it is at least as good on the same year.

Why a module of its own
-----------------------
A dispatch centre must never get a worse model because a new year of data
arrived. Both models are scored through the service's own prediction path
(:func:`core.model.predict.predict_columns`) on the same accidents, of a year
neither was trained or calibrated on (the newest complete year), and the
challenger is put in service only if it passes every rule of
:data:`GATE_RULES`. Otherwise the champion stays, and the report says why in
French. A year with too few accidents cannot tell two models apart: the gate
then refuses rather than decide on noise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from core.features.columns import columns_from_frame
from core.features.training import training_frame
from core.formatting import format_count, format_decimal
from core.model.metrics import binary_metrics
from core.model.predict import predict_columns
from core.model.report import SUBGROUP_LABELS
from core.model.subgroups import subgroup_masks

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

    from core.model.loading import SeverityModel


@dataclass(frozen=True)
class GateRules:
    """The gate's tolerances (the issue's figures) and the least evidence it decides on."""

    #: The challenger's severe ROC-AUC may be lower than the champion's by at most this.
    auc_tolerance: float = 0.002
    #: The challenger's expected calibration error (severe) on the gate year, at most.
    max_ece: float = 0.02
    #: No named subgroup's severe ROC-AUC may be lower than the champion's by more than this.
    subgroup_tolerance: float = 0.02
    #: Fewer accidents in the gate year: no decision, the champion stays.
    min_accidents: int = 1000
    #: A subgroup with fewer accidents (or without both outcomes) is shown but not judged.
    min_subgroup_accidents: int = 300
    #: A challenger trained on a sample (``--quick``) is judged but never put in service, unless this is set
    #: (the lifecycle's own tests).
    allow_quick: bool = False


GATE_RULES: Final = GateRules()


def rules_sentence(rules: GateRules = GATE_RULES) -> str:
    """The gate's rule in French, from its tolerances (for /model).

    Examples
    --------
    >>> rules_sentence()[:80]
    'Il n’est mis en service que si sa ROC-AUC (grave) ne baisse pas de plus de 0,002'
    """
    return (f"Il n’est mis en service que si sa ROC-AUC (grave) ne baisse pas de plus de "
            f"{format_decimal(rules.auc_tolerance, 3)}, si son erreur de calibration reste au plus "
            f"{format_decimal(rules.max_ece, 2)} et si aucun sous-groupe ne perd plus de "
            f"{format_decimal(rules.subgroup_tolerance, 2)}. Sinon le modèle en service reste, et le rapport dit "
            "pourquoi.")


def score_year(model: SeverityModel, con: duckdb.DuckDBPyConnection, year: int) -> dict[str, Any]:
    """A model's figures on every accident of ``year``: severe metrics, fatal ROC-AUC, severe AUC per subgroup.

    Returns
    -------
    dict
        ``{"year", "n", "severe": binary_metrics, "fatal_auc", "subgroups": {name: {"n", "severe_auc"}}}``.
    """
    frame, p_severe, p_fatal = year_predictions(model, con, year)
    severe = frame["severe"].to_numpy().astype(np.int8)
    fatal = frame["fatal"].to_numpy().astype(np.int8)
    subgroups = {}
    for name, rows in subgroup_masks(frame).items():
        subgroups[name] = {"n": int(rows.sum()), "severe_auc": binary_metrics(severe[rows], p_severe[rows])["auc"]}
    return {"year": year, "n": len(frame), "severe": binary_metrics(severe, p_severe),
            "fatal_auc": binary_metrics(fatal, p_fatal)["auc"], "subgroups": subgroups}


def year_predictions(model: SeverityModel, con: duckdb.DuckDBPyConnection,
                     year: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Every accident of ``year`` (a training frame, with its outcomes) and the model's ``p_severe``, ``p_fatal``
    through the service's path."""
    frame = training_frame(con, first_year=year, last_year=year)
    results = predict_columns(model, columns_from_frame(frame), explain=False)
    return (frame, np.array([r["p_severe"] for r in results], dtype=np.float64),
            np.array([r["p_fatal"] for r in results], dtype=np.float64))


def decide(champion: Mapping[str, Any], challenger: Mapping[str, Any], *, rules: GateRules = GATE_RULES,
           challenger_sample: float | None = None) -> dict[str, Any]:
    """Apply the gate's rules to the two models' figures on the same year (:func:`score_year`).

    Returns
    -------
    dict
        ``{"promote": bool, "year", "n", "checks": [{"rule", "passed", "text", and the figures compared:
        "champion", "challenger", "limit"}], "reasons": [French texts of the failed checks], "rules": the
        tolerances}``; every check is listed, passed or not.

    Examples
    --------
    >>> figures = lambda auc, ece: {"year": 2020, "n": 5000, "severe": {"auc": auc, "ece": ece},
    ...                             "fatal_auc": 0.8, "subgroups": {}}
    >>> decide(figures(0.850, 0.010), figures(0.849, 0.012))["promote"]
    True
    >>> decide(figures(0.850, 0.010), figures(0.846, 0.012))["reasons"]
    ['ROC-AUC (grave) 0,846 contre 0,850 pour le champion : plus bas de 0,004, au-delà de la tolérance de 0,002']
    """
    if champion["year"] != challenger["year"] or champion["n"] != challenger["n"]:
        raise ValueError("the two models were not scored on the same accidents")
    year, n = challenger["year"], challenger["n"]
    checks: list[dict[str, Any]] = []

    def check(rule: str, passed: bool, text: str, **values: float | None) -> None:
        checks.append({"rule": rule, "passed": bool(passed), "text": text, **values})

    if challenger_sample is not None and not rules.allow_quick:
        check("quick", False, f"challenger rapide, entraîné sur {format_decimal(challenger_sample * 100, 0)} % des "
                              "accidents : jugé pour information, jamais mis en service par le portail",
              challenger=challenger_sample)
    if n < rules.min_accidents:
        check("evidence", False, f"{year} ne compte que {format_count(n)} accidents, moins des "
                                 f"{format_count(rules.min_accidents)} qu’il faut pour départager deux modèles",
              challenger=n, limit=rules.min_accidents)
    old, new = champion["severe"]["auc"], challenger["severe"]["auc"]
    if old is None or new is None:
        check("auc", False, f"ROC-AUC (grave) non calculable sur {year} (une seule issue parmi les accidents)",
              champion=old, challenger=new)
    else:
        drop = round(old - new, 9)  # a drop of exactly the tolerance passes, whatever the float noise
        check("auc", drop <= rules.auc_tolerance,
              f"ROC-AUC (grave) {_d(new)} contre {_d(old)} pour le champion"
              + (f" : plus bas de {_d(drop)}, au-delà de la tolérance de {_d(rules.auc_tolerance)}"
                 if drop > rules.auc_tolerance else ""), champion=old, challenger=new, limit=rules.auc_tolerance)
    ece = challenger["severe"]["ece"]
    check("ece", ece is not None and round(ece, 9) <= rules.max_ece,
          f"erreur de calibration (ECE, grave) {_d(ece)}"
          + (f" : au-delà du maximum de {_d(rules.max_ece)}" if ece is None or round(ece, 9) > rules.max_ece else
             f", au plus {_d(rules.max_ece)}"), champion=champion["severe"]["ece"], challenger=ece, limit=rules.max_ece)
    for name, figures in challenger["subgroups"].items():
        before = champion["subgroups"].get(name, {})
        label = SUBGROUP_LABELS.get(name, name)
        if (figures["n"] < rules.min_subgroup_accidents or figures["severe_auc"] is None
                or before.get("severe_auc") is None):
            continue
        drop = round(before["severe_auc"] - figures["severe_auc"], 9)
        if drop > rules.subgroup_tolerance:
            check(f"subgroup:{name}", False,
                  f"sous-groupe « {label} » : ROC-AUC {_d(figures['severe_auc'])} contre "
                  f"{_d(before['severe_auc'])}, plus bas de {_d(drop)} (tolérance {_d(rules.subgroup_tolerance)})",
                  champion=before["severe_auc"], challenger=figures["severe_auc"], limit=rules.subgroup_tolerance)
    judged = [name for name, f in challenger["subgroups"].items() if f["n"] >= rules.min_subgroup_accidents]
    if not any(c["rule"].startswith("subgroup:") for c in checks):
        check("subgroups", True, f"aucun sous-groupe en recul de plus de {_d(rules.subgroup_tolerance)} "
                                 f"({len(judged)} sous-groupes jugés)")
    failed = [c["text"] for c in checks if not c["passed"]]
    return {"promote": not failed, "year": year, "n": n, "checks": checks, "reasons": failed,
            "rules": {"auc_tolerance": rules.auc_tolerance, "max_ece": rules.max_ece,
                      "subgroup_tolerance": rules.subgroup_tolerance, "min_accidents": rules.min_accidents,
                      "min_subgroup_accidents": rules.min_subgroup_accidents, "allow_quick": rules.allow_quick}}


def _d(value: float | None) -> str:
    return format_decimal(value, 3)


def format_decision(decision: Mapping[str, Any], *, champion: str, challenger: str) -> str:
    """The gate's decision as the French report the command prints (every check, then the outcome).

    ``champion`` and ``challenger`` name the two models (e.g. ``"version 3 (entraîné ≤ 2019)"``).
    """
    lines = [f"Portail de mise en service, jugé sur {decision['year']} ({format_count(decision['n'])} accidents)",
             f"  champion   : {champion}", f"  challenger : {challenger}"]
    lines += [f"  {'✔' if c['passed'] else '✘'} {c['text']}" for c in decision["checks"]]
    if decision["promote"]:
        lines.append(f"Décision : le challenger, {challenger}, est mis en service.")
    else:
        lines.append(f"Décision : le champion, {champion}, reste en service, parce que :")
        lines += [f"  - {reason}" for reason in decision["reasons"]]
    return "\n".join(lines)
