"""Places checks on literal codes of the INSEE lists and of real BAAC rows."""

from __future__ import annotations

import csv

import pytest

from core import places
from core.places import (
    com_insee,
    commune_name,
    dep_from_pre2019,
    department_bboxes,
    department_name,
    departments,
    departments_in_regions,
    regions,
)
from tests.conftest import OFFICIAL_2013


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("590", "59"),
        ("010", "01"),
        ("10", "01"),  # leading zero lost: Ain
        ("60", "06"),
        ("750", "75"),
        ("201", "2A"),
        ("202", "2B"),
        ("971", "971"),
        ("976", "976"),
        ("590.0", "59"),
        (590, "59"),
        ("591", None),  # not followed by 0
        ("000", None),
        ("200", None),  # no department 20
        ("", None),
        (None, None),
    ],
)
def test_dep_from_pre2019(raw: str | int | None, expected: str | None) -> None:
    assert dep_from_pre2019(raw) == expected


@pytest.mark.parametrize(
    ("dep", "com", "pre2019", "expected"),
    [
        ("01", "53", True, "01053"),
        ("01", "53.0", True, "01053"),
        ("01", "053", True, "01053"),
        ("59", "350", True, "59350"),
        ("2A", "004", True, "2A004"),
        ("2A", "4", True, "2A004"),
        ("971", "101", True, "97101"),  # 2005-2008, 2015-2018 layout
        ("971", "001", True, "97101"),  # 2009-2014 layout
        ("974", "411", True, "97411"),
        ("974", "011", True, "97411"),
        ("971", "201", True, None),  # 972's range
        ("75", "116", True, "75116"),
        ("75", "16", True, "75116"),  # 2005-2007 arrondissement number
        ("75", "056", True, "75056"),
        ("01", None, True, None),
        ("01", "", True, None),
        ("01", "1234", True, None),
        ("2A", "2A004", False, "2A004"),
        ("01", "1053", False, "01053"),
        ("971", "97101", False, "97101"),
        (None, "053", True, None),
    ],
)
def test_com_insee(dep: str | None, com: str | None, pre2019: bool, expected: str | None) -> None:
    assert com_insee(dep, com, pre2019=pre2019) == expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("75056", "Paris"),
        ("75116", "Paris 16e Arrondissement"),
        ("2A004", "Ajaccio"),
        ("2B033", "Bastia"),
        ("59350", "Lille"),
        ("13055", "Marseille"),
        ("69123", "Lyon"),
        ("97101", "Les Abymes"),
        ("97411", "Saint-Denis"),
        ("97502", "Saint-Pierre"),
        ("97801", "Saint-Martin"),
        ("1053", "Bourg-en-Bresse"),
        ("99999", None),
        (None, None),
    ],
)
def test_commune_name(code: str | None, expected: str | None) -> None:
    assert commune_name(code) == expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("01", "Ain"),
        ("59", "Nord"),
        ("2A", "Corse-du-Sud"),
        ("2B", "Haute-Corse"),
        ("974", "La Réunion"),
        ("975", "Saint-Pierre-et-Miquelon"),
        ("977", "Saint-Barthélemy"),
        ("978", "Saint-Martin"),
        ("986", "Wallis-et-Futuna"),
        ("987", "Polynésie française"),
        ("988", "Nouvelle-Calédonie"),
        ("6", "Alpes-Maritimes"),
        ("20", "Département 20 inconnu"),
    ],
)
def test_department_name(code: str, expected: str) -> None:
    assert department_name(code) == expected


def test_departments_in_insee_order() -> None:
    codes = [code for code, _ in departments()]
    assert len(codes) == 96 + 5 + 6
    assert codes[0] == "01"
    assert codes[17:22] == ["18", "19", "2A", "2B", "21"]
    assert codes[-11:] == ["971", "972", "973", "974", "975", "976", "977", "978", "986", "987", "988"]
    assert len(set(codes)) == len(codes)


def test_regions() -> None:
    names = dict(regions())
    assert "59" in departments_in_regions(["32"]) and names["32"] == "Hauts-de-France"
    assert "2B" in departments_in_regions(["94"])
    assert "987" in departments_in_regions(["COM"]) and names["COM"] == "Collectivités d'outre-mer"
    assert "20" not in departments_in_regions(list(names))
    assert len(regions()) == 18 + 1
    assert departments_in_regions(["11"]) == ["75", "77", "78", "91", "92", "93", "94", "95"]
    assert departments_in_regions(["94", "04"]) == ["2A", "2B", "974"]
    assert departments_in_regions([]) == []


def test_every_department_has_a_box() -> None:
    boxes = department_bboxes()
    assert set(boxes) == {code for code, _ in departments()}
    for code, (min_lon, min_lat, max_lon, max_lat) in boxes.items():
        assert -180 <= min_lon < max_lon <= 180, code
        assert -90 <= min_lat < max_lat <= 90, code


@pytest.mark.parametrize(
    ("dep", "lon", "lat"),
    [
        ("75", 2.3522, 48.8566),  # Notre-Dame
        ("59", 3.0573, 50.6292),  # Lille
        ("2A", 8.7369, 41.9192),  # Ajaccio
        ("974", 55.4504, -20.8789),  # Saint-Denis
        ("971", -61.5331, 16.2411),  # Pointe-à-Pitre
        ("988", 166.4572, -22.2758),  # Nouméa
        ("987", -149.5585, -17.5516),  # Papeete
    ],
)
def test_box_contains_known_town(dep: str, lon: float, lat: float) -> None:
    min_lon, min_lat, max_lon, max_lat = department_bboxes()[dep]
    assert min_lon <= lon <= max_lon and min_lat <= lat <= max_lat


def test_box_excludes_other_department() -> None:
    min_lon, min_lat, max_lon, max_lat = department_bboxes()["75"]
    lon, lat = 3.0573, 50.6292  # Lille is not in Paris
    assert not (min_lon <= lon <= max_lon and min_lat <= lat <= max_lat)


def test_reads_only_project_assets() -> None:
    for path in (places.DEPARTMENTS_CSV, places.COMMUNES_CSV, places.DEPARTMENTS_GEOJSON):
        assert path.exists() and places.ASSETS_DIR in path.parents


def test_real_2013_communes_resolve() -> None:
    """Most (dep, com) pairs of the official 2013 caracteristiques file name a commune."""
    path = OFFICIAL_2013 / "caracteristiques_2013.csv"
    with path.open(encoding="latin-1", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len({row["dep"] for row in rows}) > 100  # the slice keeps every department of 2013
    first = rows[0]  # 201300000001: dep 590, com 052, "50 Rue de la Gare", 50.51199 N 2.90046 E
    assert (first["dep"], first["com"]) == ("590", "052")
    assert commune_name(com_insee(dep_from_pre2019(first["dep"]), first["com"], pre2019=True)) == "Bauvin"
    resolved = sum(
        commune_name(com_insee(dep_from_pre2019(row["dep"]), row["com"], pre2019=True)) is not None for row in rows
    )
    share = resolved / len(rows)
    print(f"2013 communes resolved: {share:.2%}")
    assert share > 0.95
    overseas = [row for row in rows if row["dep"].startswith("97")]
    resolved_overseas = sum(
        commune_name(com_insee(dep_from_pre2019(row["dep"]), row["com"], pre2019=True)) is not None for row in overseas
    )
    assert resolved_overseas / len(overseas) > 0.95
