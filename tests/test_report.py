"""The planning report (core.report) on the real store: the PDF opens with its pages, its map has the screen's
colours, one per hexagon, and it prints the filter, the options, the hotspots and the limits in French."""

from __future__ import annotations

import io
import json
import re
from dataclasses import replace
from datetime import date, datetime

import h3
import numpy as np
import pypdfium2 as pdfium
import pytest
from PIL import Image

from core import codebook, queries
from core.filter_text import filter_lines
from core.filters import AccidentFilter
from core.maps import deck, hexagons
from core.maps.legend import MASKED_COLOUR
from core.maps.options import MapOptions
from core.report.content import ReportContent, options_lines
from core.report.map_image import map_colours, render_map, screen_towns
from core.report.pdf import report_pdf
from core.risk import hotspots
from core.risk.choices import resolution_label
from core.risk.facts import HexFacts
from core.risk.hexes import hex_risk
from core.risk.loading import load_facts
from core.risk.profile import area_profile, profile_title

DATA_YEARS = (2005, 2020)


@pytest.fixture(scope="module")
def facts(store_con) -> HexFacts:
    return load_facts(store_con)


def _content(facts, con, accident_filter: AccidentFilter, options: MapOptions) -> ReportContent:
    """The report's content as the page gathers it."""
    view, extent, resolution = options.framing(accident_filter.department_codes())
    result = hex_risk(facts, accident_filter, metric=options.metric, resolution=resolution,
                      condition=options.condition_in_force, min_count=options.min_count, extent=extent, con=con)
    table = hotspots.hotspot_table(hotspots.hotspots(result.scored, facts, result.mask, result.resolution,
                                                     metric=options.metric), metric=options.metric)
    selected = int(queries.aggregate(con, accident_filter)["accidents"].iloc[0])
    return ReportContent(accident_filter, options, result, view, table, area_profile(facts, result, None)[0],
                         profile_title(None, None), selected, queries.located_by_year(con), DATA_YEARS,
                         date(2025, 12, 3), datetime(2026, 1, 15, 9, 30))


def _pages_text(pdf: bytes) -> list[str]:
    document = pdfium.PdfDocument(pdf)
    return [document[i].get_textpage().get_text_range() for i in range(len(document))]


def _words(text: str) -> str:
    """Whitespace of any kind (line breaks of wrapped cells, no-break spaces) as single spaces."""
    return re.sub(r"\s+", " ", text.replace("\u202f", " ").replace("\u00a0", " "))


def test_report_of_a_department_has_its_pages_and_says_what_it_shows(facts, store_con) -> None:
    accident_filter = AccidentFilter(deps=("59",), years=(2018, 2020), lum=(3, 4, 5))
    content = _content(facts, store_con, accident_filter, MapOptions(metric="severity_rate", min_count=10))
    pdf = report_pdf(content, outlines=deck.load_outlines(), towns=screen_towns(content.view))
    assert pdf.startswith(b"%PDF")
    pages = [_words(text) for text in _pages_text(pdf)]
    # Page 1 the map, page 2 the hotspots then the profile, the limits where they fit (on page 2 here).
    assert len(pages) in (2, 3)
    assert all(f"page {number}/{len(pages)}" in text for number, text in enumerate(pages, start=1))
    first, second, last = pages[0], pages[1], pages[-1]
    assert second.startswith("Points chauds") and "Limites des données" not in first
    assert "Carte des risques – rapport de planification" in first
    assert "Rapport généré le 15/01/2026 à 09:30. Données BAAC 2005–2020, base construite le 03/12/2025." in first
    for line in filter_lines(accident_filter, data_years=DATA_YEARS):  # the form's own words
        assert _words(line) in first
    assert "Lumière : Nuit sans éclairage public, Nuit avec éclairage public non allumé" in first
    assert "Indicateur : Taux de gravité (lissé)" in first and "Minimum d'accidents : 10" in first
    assert "Taux de gravité (lissé)" in first.split("Vue : toute la sélection")[1]  # the legend's title
    assert len(content.hotspots) >= 5
    for row in content.hotspots.itertuples():
        assert _words(" ".join([str(row.Index), row.Département, row.Commune])) in second
        assert row.Hexagone in second and _words(row.Accidents) in second
    assert f"Quand ? Toute la vue {content.profile.accidents:,}".replace(",", " ") in second
    assert _words(codebook.HOSPITALISED_NOT_COMPARABLE) in last
    assert "Limites des données" in last and "Seuls les accidents géolocalisés sont sur la carte" in last


def test_report_map_has_one_hexagon_per_cell_in_the_screens_colours(facts, store_con) -> None:
    accident_filter = AccidentFilter(deps=("2A",), years=(2020, 2020))
    options = MapOptions(resolution=6, min_count=5, metric="severity_rate")
    content = _content(facts, store_con, accident_filter, options)
    cells = {h3.int_to_str(c) for (c,) in store_con.execute(
        "SELECT DISTINCT h3_6 FROM accidents WHERE dep = ? AND year = ? AND h3_6 IS NOT NULL", ["2A", 2020]).fetchall()}
    # The screen's colour of each cell: its class in the deck's rows, the class's swatch in the deck's legend.
    chart, legend = hexagons.risk_deck(content.result.scored, metric="severity_rate", metric_label="taux",
                                       min_count=5, view=content.view)
    swatches = re.findall(r"background:#([0-9a-f]{6})", legend)
    rows = next(layer for layer in json.loads(chart.to_json())["layers"] if layer["id"] == "hexagones")
    expected = {row[0]: MASKED_COLOUR if row[1] < 0 else tuple(bytes.fromhex(swatches[row[1]]))
                for row in rows["data"]}
    assert set(expected) == cells and 5 < len(cells) < 200
    colours = map_colours(content.result.scored, metric="severity_rate", min_count=5, hide_masked=False)
    image = render_map(colours, view=content.view)
    pixels = np.asarray(Image.open(io.BytesIO(image.png)).convert("RGB")).astype(int)
    assert (pixels.shape[1], pixels.shape[0]) == image.size
    matching = 0
    for cell, colour in expected.items():
        column, row = image.pixel(*h3.cell_to_latlng(cell))
        if np.abs(pixels[row, column] - np.array(colour)).max() <= 2:
            matching += 1
    assert matching == len(cells)
    masked = sum(colour == MASKED_COLOUR for colour in expected.values())
    assert 0 < masked < len(cells)  # grey for the cells under the minimum, as on screen


def test_hidden_cells_are_left_out_and_the_chosen_hotspot_is_outlined(facts, store_con) -> None:
    options = MapOptions(resolution=6, min_count=5, metric="severity_rate", hide_masked=True)
    content = _content(facts, store_con, AccidentFilter(deps=("2A",), years=(2020, 2020)), options)
    colours = map_colours(content.result.scored, metric="severity_rate", min_count=5, hide_masked=True)
    assert len(colours.cells) == int((~content.result.scored["masked"]).sum())
    assert (colours.classes >= 0).all() and colours.masked_label is None
    marked = colours.cells[0]
    image = render_map(colours, view=content.view, marked=marked)
    pixels = np.asarray(Image.open(io.BytesIO(image.png)).convert("RGB")).astype(int)
    magenta = (pixels[..., 0] > 200) & (pixels[..., 1] < 90) & (pixels[..., 2] > 200)
    rows, columns = magenta.nonzero()
    centre_column, centre_row = image.pixel(*h3.cell_to_latlng(marked))
    assert len(rows) > 50 and abs(rows.mean() - centre_row) < 20 and abs(columns.mean() - centre_column) < 20


def test_france_view_frames_metropolitan_france_and_names_its_towns(facts, store_con) -> None:
    content = _content(facts, store_con, AccidentFilter(years=(2018, 2020)), MapOptions())
    colours = map_colours(content.result.scored, metric="severe_per_year", min_count=20, hide_masked=False)
    towns = screen_towns(content.view)
    image = render_map(colours, view=content.view, towns=towns)
    min_lon, min_lat, max_lon, max_lat = image.extent
    assert -6 < min_lon < -4.5 and 8.5 < max_lon < 10.5 and 40.5 < min_lat < 42 and 51 < max_lat < 52
    assert "Paris" in image.towns and "Marseille" in image.towns and "Cayenne" not in image.towns
    assert set(image.towns) <= {town.name for town in towns}


def test_without_the_towns_file_the_report_says_so(facts, store_con) -> None:
    content = _content(facts, store_con, AccidentFilter(deps=("2B",), years=(2019, 2020)), MapOptions())
    text = _words(" ".join(_pages_text(report_pdf(content, towns=None))))
    assert "Noms de villes non disponibles" in text


def test_options_in_words(facts, store_con) -> None:
    options = MapOptions(metric="relative_risk", condition="night", min_count=30, hide_masked=True,
                         view=(43.3, 5.4, 10.0), resolution=8, marked="881f8d4b29fffff")
    content = _content(facts, store_con, AccidentFilter(deps=("13",), years=(2018, 2020)), options)
    lines = options_lines(options, content.result)
    share = content.result.national_share
    assert lines[0] == "Indicateur : Risque relatif de la condition (nuit)"
    assert lines[1] == f"Condition comparée : Nuit (part nationale : {share * 100:.1f}\u00a0%)".replace(".", ",")
    assert lines[2] == f"Résolution H3 : {resolution_label(8)}"  # the resolution list's own words
    assert "460\u00a0m" in lines[2]
    assert "Minimum d'accidents : 30, hexagones en dessous masqués" in lines
    assert "Vue : centrée sur 43,3000 N, 5,4000 E (zoom 10,0)" in lines
    assert lines[-1] == "Point chaud choisi (entouré en magenta) : 881f8d4b29fffff"


def test_a_hotspot_table_with_long_names_wraps_them_and_fits_the_page(facts, store_con) -> None:
    # Real names: the longest department and one of the longest communes, in different rows, as a region's
    # table can have; their widths together went past the page, and fpdf2 refused the table.
    content = _content(facts, store_con, AccidentFilter(regions=("93",), years=(2018, 2020)), MapOptions())
    table = content.hotspots.copy()
    assert len(table) >= 2
    table.loc[table.index[0], "Département"] = "Alpes-de-Haute-Provence"
    table.loc[table.index[1], "Commune"] = "Saint-Martin-de-Bienfaite-la-Cressonnière"
    pdf = report_pdf(replace(content, hotspots=table), outlines=deck.load_outlines(), towns=[])
    text = _words(" ".join(_pages_text(pdf))).replace("- ", "-")
    hexagons = table["Hexagone"].tolist()
    assert all(cell in text for cell in hexagons)  # hexagon ids never wrap
    assert "Cressonnière" in text and "Alpes-de-Haute" in text
