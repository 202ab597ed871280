"""Model reliability: the severity model's card, read so that an operator knows how far to trust it."""

from __future__ import annotations

import streamlit as st

from core.codebook import HOSPITALISATION_BREAK_YEAR
from core.dispatch import bands
from core.formatting import format_count, format_decimal, format_percent
from core.lifecycle import views
from core.lifecycle.gate import rules_sentence
from core.lifecycle.status import DRIFT_FILE, GATE_FILE, TIME_TRAVEL_FILE, read_status
from core.model import report
from core.model.spec import ModelCardError, ModelMissingError
from ui import data, severity_data

st.title("Fiabilité du modèle")
try:
    model = severity_data.severity_model()
    card = model.card
except (ModelMissingError, ModelCardError) as error:
    st.error(str(error))
    st.stop()

years, test = card.years, card.metrics.test
first, last = years.training
fatal_first, fatal_last = years.training_fatal
fatal_note = "" if years.training_fatal == years.training else f" ({fatal_first}–{fatal_last} pour « tué »)"
st.caption(f"{views.served_sentence(card.model_version, model.registry)} Entraîné le {card.created[:10]}.")

st.header("Ce qu’il estime, avec quelles données")
st.markdown(
    f"- **Cible principale** : au moins une personne tuée ou hospitalisée (« grave »). Aussi : au moins un tué, "
    "et la blessure la plus grave (tué, blessé hospitalisé, blessé léger).\n"
    "- **Données** : accidents corporels BAAC (ONISR, data.gouv.fr, Licence Ouverte / Etalab), uniquement ce "
    "qu’un appelant peut dire : lieu, date et heure, véhicules, piétons, personnes, obstacle, collision, "
    "conditions.\n"
    f"- **Entraînement** : {first}–{last}, {format_count(card.training_rows)} accidents{fatal_note}. "
    f"**Validation** : {years.validation} (choix de la première année, du nombre d’arbres, de la calibration "
    f"et des seuils). **Test** : {years.test}, jamais vu avant l’évaluation finale "
    f"({format_count(test.severe.n)} accidents).\n"
    f"- **Historique des lieux** (département, commune, mailles H3) : {years.history[0]}–{years.history[1]}.\n"
    f"- **Calibration** : régression isotone ajustée sur {years.validation} seulement, sur des prédictions "
    f"« hors échantillon » (modèles entraînés sur les années antérieures et l’autre moitié de {years.validation}).")
st.subheader("Première année d’entraînement")
st.caption(f"L’enregistrement des blessés hospitalisés a changé en {HOSPITALISATION_BREAK_YEAR} : commencer plus "
           f"tard évite l’ancien enregistrement, commencer tôt donne plus d’exemples. Chaque première année a été "
           f"entraînée jusqu’à {years.validation - 1} plus une moitié de {years.validation}, et évaluée (ROC-AUC) "
           f"sur l’autre moitié ; la meilleure, {card.start_year.chosen}, est retenue. Une variable « période "
           "d’enregistrement » sépare les deux régimes.")
st.table(report.start_year_table(card), hide_index=True)

st.subheader("Variables")
importance = dict(report.importance_by_field(card))
st.table([{"Champ de l’appel": field, "Variables du modèle": ", ".join(names),
           "Part du gain": format_percent(importance.get(field, 0))}
          for field, names in report.features_by_field(card).items()], hide_index=True)

st.header(f"Résultats sur {test.year}")
tiles = st.columns(4)
tiles[0].metric("ROC-AUC (grave)", format_decimal(test.severe.auc, 3))
tiles[1].metric("Erreur de calibration (ECE)", format_decimal(test.severe.ece, 3))
tiles[2].metric("ROC-AUC (tué)", format_decimal(test.fatal.auc, 3))
tiles[3].metric("ROC-AUC, premier appel seul", format_decimal(test.first_call_fields_only.severe.auc, 3),
                help="Avec seulement le lieu, la date et l’heure, les véhicules et les personnes.")
st.table(report.metrics_table(card), hide_index=True)

target = st.segmented_control("Calibration", list(report.TARGET_LABELS), default="severe", key="model_target",
                              format_func=report.TARGET_LABELS.get)
st.plotly_chart(report.calibration_figure(card, target or "severe"), key="model_calibration")

st.subheader("Bandes de risque")
st.markdown("\n".join(f"- {sentence}" for _band, sentence in bands.band_sentences(card)))
st.caption(f"{bands.band_rule_text(card)} Les colonnes {test.year} (test) sont données pour information : "
           "cette année n’a servi à aucun choix.")
st.table(report.bands_table(card), hide_index=True)
st.subheader("Seuils d’alerte")
st.table(report.thresholds_table(card), hide_index=True)

st.subheader("Avant que quelqu’un parle : le message eCall")
ecall = card.ecall.test
st.caption(
    f"Les accidents de {ecall.year} ({format_count(ecall.rows)} avec un véhicule d’une classe EN 15722) rejoués "
    "comme le message qu’un de leurs véhicules aurait envoyé : position, heure UTC, classe du véhicule, personnes à "
    "bord ; lus par la même correspondance que la route `/v1/severity/ecall`. Un message ne dit que « ce véhicule, "
    "ces personnes » : lu comme un appel complet, c’est un accident à un seul véhicule, d’où une calibration propre "
    f"aux messages, ajustée sur {years.validation}. Le déclenchement automatique, absent du BAAC, n’y entre pas.")
st.table(report.ecall_table(card), hide_index=True)

st.subheader("Ce que l’appelant dit des victimes")
st.caption(
    f"Âge, sexe et équipement de sécurité des personnes, quand l’appelant les donne (un enfant, un piéton âgé, un "
    f"motard sans casque). L’entraînement cache toutes les personnes une fois sur deux et une partie d’entre elles "
    f"sinon, pour que le modèle reste aussi bon quand personne n’est décrit. L’équipement n’est pas relevé dans les "
    f"fichiers {years.validation}–{years.test} de l’archive : son effet vient des années antérieures, et il est "
    "peut-être surestimé : de 2010 à 2018, « aucun équipement » est relevé pour 18 % des conducteurs tués contre "
    "1 % des conducteurs indemnes, et une part de ces relevés est faite après l’accident, sur les victimes.")
st.table(report.people_table(card), hide_index=True)

st.subheader("Par sous-groupe")
st.table(report.subgroup_table(card), hide_index=True)

st.subheader("Comparaison avec les travaux publiés")
st.table(report.peers_table(card), hide_index=True)
st.caption(report.peers_note(card))

st.header("Cycle de vie : réentraînement, mise en service, dérive")
st.markdown(
    "Chaque entraînement est suivi dans MLflow (`make mlflow`) et enregistré comme une version de "
    "« gravite-severity ». Quand une nouvelle année arrive, `python -m core retrain` entraîne un challenger et le "
    f"juge contre le modèle en service sur la même année, la plus récente. {rules_sentence()}")
gate = read_status(GATE_FILE)
st.subheader("Dernière décision du portail")
if gate is None:
    st.caption("Aucun réentraînement n’a encore été jugé sur cette installation.")
else:
    st.markdown(views.gate_sentence(gate))
    st.table(views.gate_rows(gate), hide_index=True)
travel = read_status(TIME_TRAVEL_FILE)
if travel is not None:
    st.subheader("Démonstration : le portail en 2020")
    st.markdown(views.gate_sentence(travel) + (" Modèles rapides (10 % des accidents)." if travel["quick"] else ""))
    st.table(views.gate_rows(travel), hide_index=True)
drift = read_status(DRIFT_FILE)
st.subheader("Dérive des données")
if drift is None:
    st.caption("Aucun rapport de dérive sur cette installation : `python -m core drift` compare les incidents "
               "estimés par l’API (son journal d’audit), ou `--year` une nouvelle année, aux années d’entraînement.")
else:
    st.markdown(views.drift_sentence(drift))
    st.caption("Indice de stabilité de la population (PSI) par champ : au-delà de 0,2, la population a changé, "
               "vérifier avant de se fier aux estimations. Jusqu’en 2018, la vitesse maximale autorisée n’était pas "
               "relevée et les coordonnées manquaient souvent : une année récente s’écarte donc toujours des années "
               "d’entraînement sur ces champs. Rôle, âge et sexe ne comparent que les personnes décrites ; "
               "l’équipement n’est pas comparé (absent des fichiers 2019 et suivants de l’archive) ; le risque "
               "estimé est comparé sans les personnes décrites, des deux côtés, pour que la part d’appels qui en "
               "décrivent ne passe pas pour une dérive.")
    st.table(views.drift_rows(drift), hide_index=True)

st.header("Limites")
st.markdown("\n".join(f"- {limit}" for limit in report.limits(card, data.yearly_totals())))
