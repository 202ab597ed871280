"""Codebook checks on literal labels read in the ONISR description PDFs."""

from __future__ import annotations

import csv
import math

import pytest

from core import codebook
from core.codebook import (
    ACTP_LABELS,
    BICYCLE_CATV,
    CODEBOOK,
    HGV_CATV,
    LIGHT_VEHICLE_CATV,
    MEANING_CHANGED,
    MONTH_LABELS,
    TWO_WHEELER_CATV,
    VEHICLE_GROUP_LABELS,
    WEEKDAY_LABELS,
    is_known,
    label,
    normalise_code,
    secu_pre2019_to_secu1,
    valid_codes,
)
from tests.conftest import EXCERPT_2021, OFFICIAL_2013

EXPECTED_VARIABLES = {
    "lum", "agg", "int", "atm", "col", "catr", "circ", "surf", "situ", "vosp", "prof", "plan", "infra",
    "catu", "grav", "sexe", "trajet", "secu1", "locp", "etatp", "place",
    "catv", "obs", "obsm", "choc", "manv", "senc", "motor",
}  # fmt: skip


@pytest.mark.parametrize(
    ("variable", "code", "expected"),
    [
        ("lum", 1, "Plein jour"),
        ("lum", 5, "Nuit avec éclairage public allumé"),
        ("atm", 2, "Pluie légère"),
        ("atm", 4, "Neige - grêle"),
        ("col", 2, "Deux véhicules – par l’arrière"),
        ("int", 6, "Giratoire"),
        ("catr", 3, "Route Départementale"),
        ("catr", 7, "Routes de métropole urbaine"),
        ("vosp", 2, "Bande cyclable"),
        ("surf", 7, "Verglacée"),
        ("infra", 8, "Chantier"),
        ("situ", 6, "Sur autre voie spéciale"),
        ("grav", 1, "Indemne"),
        ("grav", 2, "Tué"),
        ("grav", 3, "Blessé hospitalisé"),
        ("grav", 4, "Blessé léger"),
        ("catu", 3, "Piéton"),
        ("sexe", 2, "Féminin"),
        ("trajet", 5, "Promenade – loisirs"),
        ("secu1", 4, "Gilet réfléchissant"),
        ("secu1", 8, "Non déterminable"),
        ("place", 10, "Piéton (non applicable)"),
        ("catv", 1, "Bicyclette"),
        ("catv", 7, "VL seul"),
        ("catv", 33, "Motocyclette > 125 cm 3"),
        ("catv", 50, "EDP à moteur"),
        ("catv", 80, "VAE"),
        ("catv", 99, "Autre véhicule"),
        ("obs", 2, "Arbre"),
        ("obs", 17, "Buse – tête d’aqueduc"),
        ("obsm", 6, "Animal sauvage"),
        ("choc", 9, "Chocs multiples (tonneaux)"),
        ("manv", 23, "Arrêté (hors stationnement)"),
        ("manv", 26, "Autres manœuvres"),
        ("motor", 3, "Electrique"),
        ("senc", 3, "Absence de repère"),
        ("etatp", 3, "En groupe"),
    ],
)
def test_official_labels(variable: str, code: int, expected: str) -> None:
    assert CODEBOOK[variable][code] == expected
    assert label(variable, code) == expected


def test_all_variables_present() -> None:
    assert set(CODEBOOK) == EXPECTED_VARIABLES


@pytest.mark.parametrize(
    ("variable", "expected"),
    [
        ("obs", "Sans objet"),
        ("obsm", "Aucun"),
        ("choc", "Aucun"),
        ("manv", "Inconnue"),
        ("senc", "Inconnu"),
        ("motor", "Inconnue"),
        ("vosp", "Sans objet"),
        ("infra", "Aucun"),
        ("situ", "Aucun"),
        ("catv", "Indéterminable"),
        ("secu1", "Aucun équipement"),
        ("locp", "Sans objet"),
    ],
)
def test_zero_is_a_code_where_defined(variable: str, expected: str) -> None:
    assert CODEBOOK[variable][0] == expected
    assert normalise_code(variable, 0) == 0


@pytest.mark.parametrize(
    "variable",
    ["lum", "agg", "int", "atm", "col", "catr", "circ", "prof", "plan", "surf", "catu", "grav", "sexe", "trajet"]
    + ["etatp", "place"],
)
def test_zero_is_missing_elsewhere(variable: str) -> None:
    assert 0 not in valid_codes(variable)
    assert normalise_code(variable, 0) is None
    assert label(variable, 0) == "Non renseigné"


def test_no_minus_one_and_clean_labels() -> None:
    for variable, table in CODEBOOK.items():
        assert -1 not in table, variable
        for code, text in table.items():
            assert text == text.strip(), (variable, code)
            assert text and text[-1] not in ".,;:", (variable, code)
            assert "Non renseigné" not in text, (variable, code)


def test_pre2019_only_codes_kept() -> None:
    for code in (4, 5, 6, 8, 9, 11, 12, 18, 19):
        assert is_known("catv", code)
    assert CODEBOOK["catv"][5] == "Référence inutilisée depuis 2006 (motocyclette)"
    assert CODEBOOK["catu"][4] == "Piéton en roller ou en trottinette"


def test_meaning_changed() -> None:
    assert set(MEANING_CHANGED) <= set(CODEBOOK) | {"actp"}
    assert "99" in MEANING_CHANGED["catv"]
    assert "grav" in MEANING_CHANGED


def test_normalise_code() -> None:
    assert normalise_code("atm", None) is None
    assert normalise_code("atm", -1) is None
    assert normalise_code("atm", math.nan) is None
    assert normalise_code("atm", 2.0) == 2
    assert normalise_code("atm", 42) == 42  # unknown codes are kept...
    assert not is_known("atm", 42)  # ...and can be counted
    assert not is_known("atm", -1)
    assert not is_known("atm", None)
    assert normalise_code("trajet", 0) is None  # printed "0 – Non renseigné"


def test_label_fallbacks() -> None:
    assert label("grav", None) == "Non renseigné"
    assert label("atm", -1) == "Non renseigné"
    assert label("catv", 22) == "Code 22 inconnu"


def test_secu_aliases() -> None:
    assert valid_codes("secu2") == valid_codes("secu3") == valid_codes("secu1")
    assert label("secu3", 2) == "Casque"


def test_unknown_variable_is_an_error() -> None:
    with pytest.raises(KeyError, match="not a coded BAAC variable"):
        valid_codes("meteo")


def test_actp_labels() -> None:
    assert ACTP_LABELS["3"] == "Traversant"
    assert ACTP_LABELS["A"] == "Monte/descend du véhicule"
    assert ACTP_LABELS["B"] == "Inconnue"
    assert "-1" not in ACTP_LABELS


@pytest.mark.parametrize(
    ("secu", "expected"),
    [
        (11, 1),  # ceinture, utilisée
        (21, 2),  # casque, utilisé
        (31, 3),  # dispositif enfants, utilisé
        (41, 4),  # équipement réfléchissant, utilisé -> gilet réfléchissant
        (91, 9),  # autre, utilisé
        (12, 0),  # ceinture, non utilisée -> aucun équipement
        (22, 0),
        (13, 8),  # non déterminable
        (93, 8),
        (2, 0),  # one-digit values of the 2018 file: equipment not stated
        (3, 8),
        (1, None),
        (51, None),  # no equipment 5 before 2019
        (14, None),
        (0, None),
        (-1, None),
        (None, None),
        (math.nan, None),
        (21.0, 2),
    ],
)
def test_secu_pre2019_to_secu1(secu: float | None, expected: int | None) -> None:
    assert secu_pre2019_to_secu1(secu) == expected


def test_groupings() -> None:
    assert BICYCLE_CATV == {1, 80}
    assert {2, 30, 31, 32, 33, 34, 4, 5, 6} == TWO_WHEELER_CATV
    assert 41 not in TWO_WHEELER_CATV and 50 not in TWO_WHEELER_CATV
    assert {13, 14, 15, 16, 17} == HGV_CATV
    assert 7 in LIGHT_VEHICLE_CATV and 10 not in LIGHT_VEHICLE_CATV
    groups = [BICYCLE_CATV, TWO_WHEELER_CATV, HGV_CATV, LIGHT_VEHICLE_CATV]
    for i, first in enumerate(groups):
        assert first <= valid_codes("catv")
        for second in groups[i + 1 :]:
            assert not first & second
    assert CODEBOOK["catu"][codebook.PEDESTRIAN_CATU] == "Piéton"
    assert VEHICLE_GROUP_LABELS["two_wheeler"] == "Deux-roues motorisé"
    assert codebook.vehicle_group(80) == "bicycle"
    assert codebook.vehicle_group(17) == "hgv"
    assert codebook.vehicle_group(0) is None


def test_grav_constants() -> None:
    assert CODEBOOK["grav"][codebook.GRAV_KILLED] == "Tué"
    assert CODEBOOK["grav"][codebook.GRAV_HOSPITALISED] == "Blessé hospitalisé"
    assert CODEBOOK["grav"][codebook.GRAV_LIGHT] == "Blessé léger"
    assert CODEBOOK["grav"][codebook.GRAV_UNHARMED] == "Indemne"


def test_calendar_labels() -> None:
    assert WEEKDAY_LABELS[0] == "Lundi" and WEEKDAY_LABELS[6] == "Dimanche"
    assert len(WEEKDAY_LABELS) == 7
    assert MONTH_LABELS[1] == "Janvier" and MONTH_LABELS[8] == "Août" and MONTH_LABELS[12] == "Décembre"


def _read_excerpt(name: str) -> list[dict[str, str]]:
    path = EXCERPT_2021 / name
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


@pytest.mark.parametrize(
    ("name", "variables"),
    [
        ("caracteristiques-2021.csv", ["lum", "agg", "int", "atm", "col"]),
        ("lieux-2021.csv", ["catr", "circ", "vosp", "prof", "plan", "surf", "infra", "situ"]),
        ("usagers-2021.csv", ["place", "catu", "grav", "sexe", "trajet", "secu1", "secu2", "secu3", "locp", "etatp"]),
        ("vehicules-2021.csv", ["senc", "catv", "obs", "obsm", "choc", "manv", "motor"]),
    ],
)
def test_real_2021_rows_use_known_codes(name: str, variables: list[str]) -> None:
    for row in _read_excerpt(name):
        for variable in variables:
            raw = row[variable].strip()
            code = normalise_code(variable, int(raw) if raw else None)
            assert code is None or is_known(variable, code), (name, variable, raw)


def test_first_2021_accident() -> None:
    """Accident 202100000001 (Gard): dawn, outside built-up area, normal weather, frontal."""
    row = _read_excerpt("caracteristiques-2021.csv")[0]
    assert row["Num_Acc"] == "202100000001"
    assert label("lum", int(row["lum"])) == "Crépuscule ou aube"
    assert label("agg", int(row["agg"])) == "Hors agglomération"
    assert label("atm", int(row["atm"])) == "Normale"
    assert label("col", int(row["col"])) == "Deux véhicules - frontale"


def test_pre2019_vehicle_codes_are_known() -> None:
    """Every vehicle code value of 2013 (the slice keeps one accident per value) is in the codebook."""
    path = OFFICIAL_2013 / "vehicules_2013.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) > 500
    for variable in ("catv", "obs", "obsm", "choc", "manv"):
        values = {int(row[variable]) for row in rows if row[variable].strip()}
        unknown = {v for v in values if normalise_code(variable, v) is not None and not is_known(variable, v)}
        assert not unknown, (variable, unknown)
