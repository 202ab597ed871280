"""The explorer's exports on the real store: the workbook, the ZIP of CSV files and the Parquet file.

Expected figures come from plain SQL on the store's ``users`` and ``vehicles`` tables (not the
``accidents`` table's precomputed counts the export reads), labels from the official codebook.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import xml.etree.ElementTree as ET
import zipfile

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core import codebook
from core.explore.export import (
    EXPORT_FILES,
    EXPORT_LIMIT,
    ExportTooLargeError,
    export_accidents,
    export_summary,
    limit_warning,
)
from core.explore.workbook import workbook_bytes
from core.filters import AccidentFilter

DATA_YEARS = (2005, 2020)
LOZERE = AccidentFilter(deps=("48",))
EXPORTED_AT = dt.datetime(2025, 3, 1, 9, 30)
# One real accident: 30/01/2020 18:25 in Chanac (Lozère), a cyclist killed, no other user.
CHANAC = 202000009335
#: Coded columns of each sheet (header -> BAAC variable) whose labels are checked against the codebook.
CODED = {
    "Accidents": {"Lumière": "lum", "Localisation": "agg", "Intersection": "int", "Conditions atmosphériques": "atm",
                  "Type de collision": "col", "Catégorie de route": "catr", "Régime de circulation": "circ",
                  "État de la surface": "surf", "Situation de l'accident": "situ"},
    "Usagers": {"Catégorie du véhicule": "catv", "Catégorie d'usager": "catu", "Gravité de blessure": "grav",
                "Sexe": "sexe", "Motif du déplacement": "trajet", "Équipement de sécurité 1": "secu1",
                "Localisation du piéton": "locp", "Piéton seul ou non": "etatp"},
    "Véhicules": {"Catégorie du véhicule": "catv", "Obstacle fixe heurté": "obs", "Obstacle mobile heurté": "obsm",
                  "Point de choc initial": "choc", "Manœuvre principale avant l'accident": "manv",
                  "Sens de circulation": "senc", "Type de motorisation": "motor"},
}


def _sql(con, sql: str, params: list[object]) -> list[tuple]:
    return con.execute(sql, params).fetchall()


@pytest.fixture(scope="module")
def expected(store_con) -> dict[str, object]:
    """The Lozère accidents counted from the users and vehicles tables."""
    lozere = "SELECT acc_id FROM accidents WHERE dep = ?"
    people = _sql(store_con, f"""
        SELECT acc_id, count(*), count_if(grav = 2), count_if(grav = 3), count_if(grav = 4), count_if(grav = 1),
               count_if(catu = 3)
        FROM users WHERE acc_id IN ({lozere}) GROUP BY acc_id""", ["48"])
    vehicles = _sql(store_con, f"SELECT acc_id, count(*) FROM vehicles WHERE acc_id IN ({lozere}) GROUP BY acc_id",
                    ["48"])
    return {
        "accidents": _sql(store_con, "SELECT count(*) FROM accidents WHERE dep = ?", ["48"])[0][0],
        "located": _sql(store_con, "SELECT count(lat) FROM accidents WHERE dep = ?", ["48"])[0][0],
        "people": {row[0]: row[1:] for row in people},
        "vehicles": dict(vehicles),
        "person_rows": sorted(_sql(store_con, f"""SELECT acc_id, veh, catu, grav, birth_year FROM users
                                               WHERE acc_id IN ({lozere})""", ["48"]), key=repr),
    }


@pytest.fixture(scope="module")
def workbook(store_con) -> openpyxl.Workbook:
    data = export_accidents(store_con, LOZERE, file_format="xlsx", data_years=DATA_YEARS, exported_at=EXPORTED_AT)
    return openpyxl.load_workbook(io.BytesIO(data))


@pytest.fixture(scope="module")
def csv_zip(store_con) -> zipfile.ZipFile:
    data = export_accidents(store_con, LOZERE, file_format="csv", data_years=DATA_YEARS, exported_at=EXPORTED_AT)
    return zipfile.ZipFile(io.BytesIO(data))


def _records(sheet) -> list[dict[str, object]]:
    rows = sheet.iter_rows(values_only=True)
    header = next(rows)
    return [dict(zip(header, row, strict=True)) for row in rows]


def test_workbook_has_the_four_sheets_one_accident_per_row(workbook, expected) -> None:
    assert workbook.sheetnames == ["Accidents", "Usagers", "Véhicules", "Filtres"]
    accidents = _records(workbook["Accidents"])
    assert len(accidents) == expected["accidents"] == 1238
    assert len({row["Identifiant de l'accident"] for row in accidents}) == len(accidents)
    assert len(_records(workbook["Usagers"])) == sum(p[0] for p in expected["people"].values())
    assert len(_records(workbook["Véhicules"])) == sum(expected["vehicles"].values())


def test_workbook_counts_of_each_accident_match_its_people_and_vehicles(workbook, expected) -> None:
    shown = {row["Identifiant de l'accident"]: (row["Usagers"], row["Tués"], row["Blessés hospitalisés"],
                                                row["Blessés légers"], row["Indemnes"], row["Piétons"])
             for row in _records(workbook["Accidents"])}
    assert shown == expected["people"]
    vehicles = {row["Identifiant de l'accident"]: row["Véhicules"] for row in _records(workbook["Accidents"])}
    assert {k: v for k, v in vehicles.items() if v} == expected["vehicles"]


def test_workbook_one_real_accident_with_dates_codes_and_labels(workbook, store_con) -> None:
    (chanac,) = [row for row in _records(workbook["Accidents"]) if row["Identifiant de l'accident"] == CHANAC]
    lat, lon = _sql(store_con, "SELECT lat, lon FROM accidents WHERE acc_id = ?", [CHANAC])[0]
    assert chanac["Date"] == dt.datetime(2020, 1, 30) and chanac["Heure"] == dt.time(18, 25)
    assert (chanac["Jour de la semaine"], chanac["Département"], chanac["Commune (code)"], chanac["Commune"]) == (
        "Jeudi", "Lozère", "48039", "Chanac")
    assert (chanac["Lumière (code)"], chanac["Lumière"]) == (5, "Nuit avec éclairage public allumé")
    assert (chanac["Conditions atmosphériques (code)"], chanac["Conditions atmosphériques"]) == (2, "Pluie légère")
    assert (chanac["Tués"], chanac["Accident grave (tué ou blessé hospitalisé)"]) == (1, "Oui")
    assert chanac["Catégories des véhicules"] == "Bicyclette" and chanac["Vélos"] == 1
    assert (chanac["Latitude"], chanac["Longitude"]) == (lat, lon)
    (cyclist,) = [row for row in _records(workbook["Usagers"]) if row["Identifiant de l'accident"] == CHANAC]
    assert (cyclist["Catégorie d'usager"], cyclist["Gravité de blessure"], cyclist["Catégorie du véhicule"]) == (
        "Conducteur", "Tué", "Bicyclette")
    assert cyclist["Âge (année de l'accident moins année de naissance)"] == 2020 - cyclist["Année de naissance"]
    sheet = workbook["Accidents"]
    header = [cell.value for cell in sheet[1]]
    date_cell = sheet.cell(row=2, column=header.index("Date") + 1)
    assert date_cell.is_date and date_cell.number_format == "dd/mm/yyyy"
    assert sheet.cell(row=2, column=1).number_format == "0"  # 12-digit identifiers without exponent
    assert sheet.freeze_panes == "B2" and sheet.auto_filter.ref == f"A1:{sheet.cell(1, len(header)).column_letter}1239"


def test_workbook_labels_are_the_codebooks(workbook) -> None:
    for sheet_name, coded in CODED.items():
        for row in _records(workbook[sheet_name]):
            for header, variable in coded.items():
                assert row[header] == codebook.label(variable, row[f"{header} (code)"]), (sheet_name, header, row)


def test_workbook_people_are_the_stores(workbook, expected) -> None:
    rows = [(r["Identifiant de l'accident"], r["Véhicule"], r["Catégorie d'usager (code)"],
             r["Gravité de blessure (code)"], r["Année de naissance"]) for r in _records(workbook["Usagers"])]
    assert sorted(rows, key=repr) == expected["person_rows"]


def test_filters_sheet_says_what_the_file_holds(workbook, expected) -> None:
    notes = {row[0]: row[1] for row in workbook["Filtres"].iter_rows(values_only=True) if row[0]}
    assert notes["Départements"] == "48 – Lozère" and notes["Années"] == "2005–2020"
    assert notes["Lumière"] == "tous" and notes["Régions"] == "toutes"
    assert "ONISR" in notes["Source"] and "Licence Ouverte" in notes["Source"]
    assert notes["Date de l'export"] == EXPORTED_AT
    assert notes["Accidents"] == expected["accidents"]
    assert notes["Usagers"] == sum(p[0] for p in expected["people"].values())
    assert notes["Tués"] == sum(p[1] for p in expected["people"].values())
    assert "2018" in notes["Blessés hospitalisés"]


def test_csv_zip_holds_three_tables_and_the_filters(csv_zip, expected, store_con) -> None:
    assert sorted(csv_zip.namelist()) == ["accidents.csv", "filtres.txt", "usagers.csv", "vehicules.csv"]
    raw = csv_zip.read("accidents.csv")
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM that makes Excel read UTF-8
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert len(rows) == expected["accidents"]
    (chanac,) = [row for row in rows if row["Identifiant de l'accident"] == str(CHANAC)]
    lat = _sql(store_con, "SELECT lat FROM accidents WHERE acc_id = ?", [CHANAC])[0][0]
    assert float(chanac["Latitude"].replace(",", ".")) == lat and "." not in chanac["Latitude"]
    assert (chanac["Date"], chanac["Heure"], chanac["Lumière (code)"], chanac["Lumière"]) == (
        "30/01/2020", "18:25", "5", "Nuit avec éclairage public allumé")
    people = list(csv.DictReader(io.StringIO(csv_zip.read("usagers.csv").decode("utf-8-sig")), delimiter=";"))
    assert len(people) == sum(p[0] for p in expected["people"].values())
    text = csv_zip.read("filtres.txt").decode("utf-8-sig")
    assert "Départements : 48 – Lozère\n" in text and "Date de l'export : 01/03/2025 09:30\n" in text
    assert "Accidents : 1\u202f238\n" in text


def test_csv_reads_as_numbers_with_a_french_reader(csv_zip, expected) -> None:
    """Read as French Excel settings say (``;``, decimal comma): coordinates are numbers, counts add up."""
    frame = pd.read_csv(io.BytesIO(csv_zip.read("accidents.csv")), sep=";", decimal=",", encoding="utf-8-sig")
    assert frame["Latitude"].dtype == "float64" and frame["Latitude"].dropna().between(44, 45).all()
    assert frame["Latitude"].count() == expected["located"]
    assert frame["Tués"].sum() == sum(p[1] for p in expected["people"].values())


def test_parquet_keeps_the_nested_machine_format_and_the_filters(store_con) -> None:
    accident_filter = AccidentFilter(deps=("48",), years=(2020, 2020))
    data = export_accidents(store_con, accident_filter, file_format="parquet", data_years=DATA_YEARS)
    table = pq.read_table(io.BytesIO(data))
    expected = _sql(store_con, "SELECT count(*) FROM accidents WHERE dep = ? AND year = ?", ["48", 2020])[0][0]
    assert table.num_rows == expected
    rows = table.to_pylist()
    people = dict(_sql(store_con, """SELECT acc_id, count(*) FROM users WHERE acc_id IN
                                     (SELECT acc_id FROM accidents WHERE dep = ? AND year = ?) GROUP BY acc_id""",
                       ["48", 2020]))
    assert {r["acc_id"]: len(r["usagers"]) for r in rows} == people
    assert "lum" in table.column_names and "h3_9" not in table.column_names
    filters = table.schema.metadata[b"gravite_filtres"].decode("utf-8")
    assert "Années : 2020\n" in filters and "Départements : 48 – Lozère\n" in filters


def test_an_empty_selection_gives_files_with_headers_only(store_con) -> None:
    nothing = AccidentFilter(deps=("975",), years=(2005, 2005))
    assert _sql(store_con, "SELECT count(*) FROM accidents WHERE dep = ? AND year = ?", ["975", 2005])[0][0] == 0
    book = openpyxl.load_workbook(io.BytesIO(export_accidents(store_con, nothing, file_format="xlsx",
                                                              data_years=DATA_YEARS)))
    assert [book[name].max_row for name in ("Accidents", "Usagers", "Véhicules")] == [1, 1, 1]
    archive = zipfile.ZipFile(io.BytesIO(export_accidents(store_con, nothing, file_format="csv",
                                                          data_years=DATA_YEARS)))
    assert archive.read("accidents.csv").decode("utf-8-sig").count("\n") == 1


def test_export_refuses_too_many_accidents_and_unknown_formats(store_con) -> None:
    with pytest.raises(ExportTooLargeError, match="1065053"):
        export_accidents(store_con, AccidentFilter(), file_format="xlsx", data_years=DATA_YEARS)
    with pytest.raises(ValueError, match="file_format"):
        export_accidents(store_con, LOZERE, file_format="ods", data_years=DATA_YEARS)


def test_export_texts() -> None:
    assert export_summary(1238).startswith("1\u202f238 accidents, avec leurs usagers et leurs véhicules.")
    assert "noms de colonnes anglais" in export_summary(1238)  # the Parquet file is said to be for programs
    assert limit_warning(EXPORT_LIMIT) is None
    assert limit_warning(EXPORT_LIMIT + 1) == ("L'export est limité à 100\u202f000 accidents : affinez les filtres. "
                                               "Les fichiers complets sont publiés sur data.gouv.fr (BAAC).")
    assert [f.file_name for f in EXPORT_FILES.values()] == ["accidents.xlsx", "accidents-csv.zip", "accidents.parquet"]


# --------------------------------------------------------------------------- #
# The workbook writer on small tables
# --------------------------------------------------------------------------- #


def test_workbook_rows_keep_their_columns_across_missing_values_and_markup() -> None:
    table = pa.table({
        "Texte": ["a < b & c", None, " espace "],
        "Code": pa.array([1, None, 3], pa.int8()),
        "Mesure": [1.5, float("nan"), None],
        "Jour": [dt.date(2020, 2, 29), None, dt.date(1999, 12, 31)],
        "Heure": pa.array([dt.time(0, 0), dt.time(23, 59), None], pa.time64("us")),
        "Dernière": ["x", "y", "z"],
    })
    data = workbook_bytes([("Données", table)], notes_sheet="Notes", notes=[("Titre", None), ("Nombre", 3)])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.endswith(".xml"):
                ET.fromstring(archive.read(name))  # every part is well-formed XML
    rows = list(openpyxl.load_workbook(io.BytesIO(data))["Données"].iter_rows(values_only=True))
    assert rows == [
        ("Texte", "Code", "Mesure", "Jour", "Heure", "Dernière"),
        ("a < b & c", 1, 1.5, dt.datetime(2020, 2, 29), dt.time(0, 0), "x"),
        (None, None, None, None, dt.time(23, 59), "y"),
        (" espace ", 3, None, dt.datetime(1999, 12, 31), None, "z"),
    ]
