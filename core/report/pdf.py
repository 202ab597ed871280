"""The planning report as A4 pages, laid out by fpdf2: the map first, then hotspots, profile and limits.

Page 1: title, dates, the selection and the map's options in words, the
map and its legend (written as text, so it stays sharp and searchable).
Then the hotspot table as the page shows it, the hour × weekday profile, and
the data's limits. The text is set in DejaVu Sans, the TTF font matplotlib
ships: fpdf2's built-in fonts are Latin-1 only, and French numbers need the
narrow no-break space (U+202F) between thousands.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import matplotlib
import pandas as pd
from fpdf import FPDF
from fpdf.fonts import FontFace

from core.maps.legend import MARKED_COLOUR, MASKED_COLOUR
from core.maps.towns import Town
from core.report.content import (
    ReportContent,
    dates_line,
    limits_lines,
    options_lines,
    selection_lines,
)
from core.report.map_image import MapColours, map_colours, render_map
from core.report.profile_image import profile_png
from core.risk import texts
from core.risk.profile import profile_caption, restricting_condition

FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
FONT = "DejaVu"
TITLE = "Carte des risques – rapport de planification"
_LINE_MM = 4.6
_SWATCH_MM = 3.6
_GREY_TEXT = (90, 90, 90)
# Hotspot columns of words, aligned left; the figures are aligned right.
_TEXT_COLUMNS = ("Département", "Commune", "Hexagone")
#: The columns whose values may wrap when the table is wider than the page.
_WRAPPING_COLUMNS = ("Département", "Commune")


class _ReportPDF(FPDF):
    """A4 portrait pages with the report's fonts and a footer naming the report and the page."""

    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.footer_text = footer_text
        self.add_font(FONT, "", FONT_DIR / "DejaVuSans.ttf")
        self.add_font(FONT, "B", FONT_DIR / "DejaVuSans-Bold.ttf")
        self.set_margins(12, 12, 12)
        self.set_auto_page_break(True, margin=14)

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font(FONT, size=7)
        self.set_text_color(*_GREY_TEXT)
        self.cell(0, 4, f"Gravité – {self.footer_text} – page {self.page_no()}/{{nb}}", align="C")
        self.set_text_color(0)


def _heading(pdf: FPDF, text: str, *, size: float = 11) -> None:
    pdf.set_font(FONT, "B", size)
    pdf.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    pdf.set_font(FONT, size=9)


def _lines(pdf: FPDF, lines: list[str], *, size: float = 9) -> None:
    pdf.set_font(FONT, size=size)
    for line in lines:
        pdf.multi_cell(0, _LINE_MM, line, new_x="LMARGIN", new_y="NEXT", align="L")
    pdf.ln(2)


def _space_left(pdf: FPDF) -> float:
    return pdf.h - pdf.b_margin - pdf.get_y()


def _legend(pdf: FPDF, colours: MapColours, *, title: str, marked: bool) -> None:
    """One swatch and label per colour class, then the grey class and the marked hotspot, wrapped to the page."""
    pdf.set_font(FONT, "B", 8)
    pdf.multi_cell(0, _LINE_MM, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, size=8)
    items: list[tuple[tuple[int, int, int] | None, tuple[int, int, int] | None, str]] = [
        (colour, None, label) for colour, label in colours.legend]
    if colours.masked_label:
        items.append((MASKED_COLOUR, None, colours.masked_label))
    if marked:
        items.append((None, MARKED_COLOUR, "point chaud choisi"))
    for fill, border, label in items:
        width = _SWATCH_MM + 1.5 + pdf.get_string_width(label) + 5
        if pdf.get_x() + width > pdf.w - pdf.r_margin:
            pdf.ln(_LINE_MM + 0.6)
        x, y = pdf.get_x(), pdf.get_y()
        pdf.set_draw_color(*(border or (136, 136, 136)))
        pdf.set_line_width(0.8 if border else 0.2)
        if fill:
            pdf.set_fill_color(*fill)
        pdf.rect(x, y + 0.5, _SWATCH_MM, _SWATCH_MM, style="DF" if fill else "D")
        pdf.set_xy(x + _SWATCH_MM + 1.5, y)
        pdf.cell(width - _SWATCH_MM - 1.5, _LINE_MM, label)
    pdf.set_line_width(0.2)
    pdf.set_draw_color(0)
    pdf.set_fill_color(255)  # tables fill their cells with the current colour: not the last swatch's
    pdf.ln(_LINE_MM + 2)


def _map(pdf: FPDF, content: ReportContent, *, outlines: dict | None, towns: Sequence[Town] | None) -> None:
    """The map, as wide as the page allows while it and its legend fit under the text above."""
    options = content.options
    colours = map_colours(content.result.scored, metric=options.metric, min_count=options.min_count,
                          hide_masked=options.hide_masked)
    image = render_map(colours, view=content.view, outlines=outlines, towns=towns or (), marked=options.marked)
    width_px, height_px = image.size
    legend_mm = 22
    width = pdf.epw
    height = width * height_px / width_px
    if height > _space_left(pdf) - legend_mm:
        height = max(_space_left(pdf) - legend_mm, 60)
        width = height * width_px / height_px
    x = pdf.l_margin + (pdf.epw - width) / 2
    pdf.image(io.BytesIO(image.png), x=x, w=width, h=height, alt_text=f"Carte : {options.metric_label}")
    pdf.set_draw_color(180)
    pdf.rect(x, pdf.get_y() - height, width, height)
    pdf.set_draw_color(0)
    pdf.ln(2)
    _legend(pdf, colours, title=options.metric_label, marked=bool(options.marked))
    if towns is None:
        pdf.set_font(FONT, size=7)
        pdf.set_text_color(*_GREY_TEXT)
        pdf.multi_cell(0, 3.5, "Noms de villes non disponibles (fichier assets/ref/towns.csv absent).",
                       new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0)


def _column_widths(table: pd.DataFrame, pdf: FPDF, *, padding: float) -> list[float]:
    """Each column as wide as its widest value or heading word (the rank first), spread over the page's width.

    Figures and hexagon ids never wrap; headings wrap between words, and so do the department and
    commune names when the table would not fit the page otherwise.
    """
    pdf.set_font(FONT, "B", 7)
    headings = [max(pdf.get_string_width(word) for word in str(name).split()) for name in ["N°", *table.columns]]
    pdf.set_font(FONT, size=7)
    values = [max(pdf.get_string_width(str(v)) for v in table.index)]
    values += [max(pdf.get_string_width(str(v)) for v in table[name]) for name in table.columns]
    widest = [max(h, v) + 2 * padding + 1 for h, v in zip(headings, values, strict=True)]
    spare = pdf.epw - sum(widest)
    if spare >= 0:
        return [w + spare / len(widest) for w in widest]
    # Too wide (a long department and a long commune name, from different rows): the text columns give up
    # what is missing, in proportion to their widths, and their values wrap; never below their widest heading word.
    text = [i for i, name in enumerate(["N°", *table.columns]) if name in _WRAPPING_COLUMNS]
    room = sum(widest[i] - headings[i] - 2 * padding - 1 for i in text)
    shrink = min(1.0, -spare / room) if room > 0 else 0.0
    return [w - (w - headings[i] - 2 * padding - 1) * shrink if i in text else w for i, w in enumerate(widest)]


def _hotspots(pdf: FPDF, content: ReportContent) -> None:
    _heading(pdf, "Points chauds")
    table = content.hotspots
    if content.options.metric == "relative_risk":
        _lines(pdf, [texts.RELATIVE_RISK_HOTSPOTS], size=8)
    if table.empty:
        _lines(pdf, [texts.no_hotspot_text(content.options.metric)])
        return
    padding = 0.8
    widths = _column_widths(table, pdf, padding=padding)
    pdf.set_font(FONT, size=7)
    headings = FontFace(emphasis="BOLD", fill_color=(225, 225, 225))
    align = ["RIGHT", *("LEFT" if name in _TEXT_COLUMNS else "RIGHT" for name in table.columns)]
    with pdf.table(col_widths=widths, width=min(sum(widths), pdf.epw), line_height=3.6, headings_style=headings,
                   text_align=align, first_row_as_headings=True, padding=padding, cell_fill_mode="ROWS",
                   cell_fill_color=(245, 245, 245)) as grid:
        grid.row(["N°", *map(str, table.columns)])
        for rank, values in zip(table.index, table.itertuples(index=False), strict=True):
            grid.row([str(rank), *map(str, values)])
    pdf.ln(3)


def _profile(pdf: FPDF, content: ReportContent) -> None:
    if content.profile is None:
        return
    image_mm = pdf.epw * 0.62
    if _space_left(pdf) < image_mm + 16:
        pdf.add_page()
    _heading(pdf, content.profile_title)
    condition = restricting_condition(content.options.metric, content.options.condition_in_force)
    _lines(pdf, [profile_caption(content.profile, condition=condition)], size=8)
    pdf.image(io.BytesIO(profile_png(content.profile)), x=pdf.l_margin, w=pdf.epw,
              alt_text="Accidents par jour et heure")
    pdf.ln(3)


def report_pdf(content: ReportContent, *, outlines: dict | None = None, towns: Sequence[Town] | None = None) -> bytes:
    """The planning report of one risk-map view, as PDF bytes.

    ``outlines`` are the department outlines drawn over the hexagons
    (:func:`core.maps.deck.load_outlines`); ``towns`` the towns the screen
    names (:func:`core.report.map_image.screen_towns`; None when their file is
    missing: no names, and the report says so).
    """
    pdf = _ReportPDF(f"rapport généré le {content.generated:%d/%m/%Y à %H:%M}")
    pdf.set_title(TITLE)
    pdf.set_lang("fr")
    pdf.set_creator("Gravité")
    pdf.set_creation_date(content.generated)
    pdf.add_page()
    _heading(pdf, TITLE, size=15)
    _lines(pdf, [dates_line(content)], size=8)
    _heading(pdf, "Sélection")
    _lines(pdf, selection_lines(content))
    _heading(pdf, "Options de la carte")
    _lines(pdf, options_lines(content.options, content.result))
    _map(pdf, content, outlines=outlines, towns=towns)
    pdf.add_page()
    _hotspots(pdf, content)
    _profile(pdf, content)
    if _space_left(pdf) < 60:
        pdf.add_page()
    _heading(pdf, "Limites des données")
    _lines(pdf, [f"• {line}" for line in limits_lines(content)], size=8)
    return bytes(pdf.output())
