"""An Excel workbook of large Arrow tables in seconds: xlsxwriter lays the workbook out, Arrow writes the rows.

Why not xlsxwriter alone
------------------------
xlsxwriter writes a cell in about 5 µs of Python. The explorer's largest
export (100,000 accidents, their people and vehicles) is some 14 million
cells: over a minute, while the analyst waits on the button. So xlsxwriter
writes everything but the data rows: styles, headers, column widths, the
frozen header, the filter buttons, the notes sheet and the document's
properties. The rows of each table are then written as sheet XML by Arrow's
string kernels (the cell of each distinct value is written once, then spread
with ``take``) and spliced into the file xlsxwriter wrote, with their strings
added to its shared-string table. About a second per 5 million cells
(``bench/export.py``).

The rows follow the Office Open XML spreadsheet format (ECMA-376 Part 1,
§18.3): a ``<row r="N">`` per row, its cells in order without their optional
``r`` references, an empty ``<c/>`` for a missing value.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

import pyarrow as pa
import pyarrow.compute as pc
import xlsxwriter

#: A line of the notes sheet: (label, value). A label without value is a heading; ("", None) a blank line.
NoteRow = tuple[str, object]
#: Rows turned into XML at once: bounds the memory an export takes (a few tens of MB).
CHUNK_ROWS = 50_000
#: Excel's day 0 (its serial dates count days from here, 1900 leap-year bug included).
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_MICROSECONDS_PER_DAY = 86_400_000_000
_WIDEST_COLUMN = 45
# Characters XML 1.0 forbids: never in the store's labels, removed rather than trusted.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


@dataclass(frozen=True)
class _Styles:
    """Style numbers (xf indices) of the cells written outside xlsxwriter, read once it has closed."""

    date: int
    time: int
    integer: int


def column_letter(index: int) -> str:
    """Excel's name of the 0-based column ``index``.

    Examples
    --------
    >>> column_letter(0), column_letter(25), column_letter(26), column_letter(45)
    ('A', 'Z', 'AA', 'AT')
    """
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _text_width(values: pa.ChunkedArray | pa.Array) -> int:
    """Characters of the longest text of a string column (0 when empty)."""
    longest = pc.max(pc.utf8_length(values)).as_py()
    return int(longest or 0)


def _column_width(name: str, values: pa.ChunkedArray) -> float:
    """A width that shows the column's values whole and its header over at most three lines."""
    kind = values.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        content = _text_width(values)
    elif pa.types.is_date(kind):
        content = 10
    elif pa.types.is_time(kind):
        content = 5
    elif pa.types.is_floating(kind):
        content = 11
    else:
        content = max(len(str(pc.max(values).as_py() or 0)), 3)
    header = max(max(len(word) for word in name.split()), len(name) / 3)
    return min(max(content, header, 6) + 2, _WIDEST_COLUMN)


def _data_formats(book: xlsxwriter.Workbook) -> dict[str, object]:
    """The number formats of the data columns: dates, times, and integers without exponent (12-digit identifiers)."""
    return {"date": book.add_format({"num_format": "dd/mm/yyyy"}), "time": book.add_format({"num_format": "hh:mm"}),
            "integer": book.add_format({"num_format": "0"})}


def _format_of(kind: pa.DataType, formats: dict[str, object]) -> object | None:
    if pa.types.is_date(kind):
        return formats["date"]
    if pa.types.is_time(kind):
        return formats["time"]
    if pa.types.is_integer(kind):
        return formats["integer"]
    return None


def _lay_out_sheet(book: xlsxwriter.Workbook, name: str, table: pa.Table, formats: dict[str, object]) -> None:
    """The sheet as xlsxwriter writes it: header, widths and formats of the columns, frozen header, filter buttons."""
    sheet = book.add_worksheet(name)
    sheet.set_row(0, 45)
    for index, column_name in enumerate(table.column_names):
        sheet.write_string(0, index, column_name, formats["header"])
        values = table.column(index)
        sheet.set_column(index, index, _column_width(column_name, values), _format_of(values.type, formats))
    sheet.freeze_panes(1, 1)
    sheet.autofilter(0, 0, max(table.num_rows, 1), table.num_columns - 1)


def _write_notes(book: xlsxwriter.Workbook, name: str, notes: Sequence[NoteRow]) -> None:
    """The notes sheet: labels in bold for headings, values as text, integers or dates."""
    bold = book.add_format({"bold": True})
    formats = {
        dt.datetime: book.add_format({"num_format": "dd/mm/yyyy hh:mm", "align": "left"}),
        dt.date: book.add_format({"num_format": "dd/mm/yyyy", "align": "left"}),
        int: book.add_format({"num_format": "#,##0", "align": "left"}),
    }
    sheet = book.add_worksheet(name)
    sheet.set_column(0, 0, 28)
    sheet.set_column(1, 1, 110)
    for row, (label, value) in enumerate(notes):
        sheet.write_string(row, 0, label, bold if value is None else None)
        if isinstance(value, str):
            sheet.write_string(row, 1, value)
        elif value is not None:
            sheet.write(row, 1, value, formats[type(value)])


# --------------------------------------------------------------------------- #
# The rows, as sheet XML
# --------------------------------------------------------------------------- #


class _SharedStrings:
    """The workbook's shared strings: xlsxwriter's (headers, notes) first, then the data's, each once."""

    def __init__(self, xml: bytes) -> None:
        self._xml = xml.decode("utf-8")
        self.first = int(re.search(r'uniqueCount="(\d+)"', self._xml).group(1))
        self.references = int(re.search(r'\scount="(\d+)"', self._xml).group(1))
        self._index: dict[str, int] = {}

    def index(self, text: str) -> int:
        if text not in self._index:
            self._index[text] = self.first + len(self._index)
        return self._index[text]

    def xml(self) -> bytes:
        """xlsxwriter's table with the data's strings appended and its counts updated."""
        items = []
        for text in self._index:
            clean = escape(_NOT_XML.sub("", text))
            space = ' xml:space="preserve"' if clean != clean.strip() else ""
            items.append(f"<si><t{space}>{clean}</t></si>")
        unique = self.first + len(self._index)
        head, tail = self._xml.rsplit("</sst>", 1)
        head = re.sub(r'\scount="\d+" uniqueCount="\d+"', f' count="{self.references}" uniqueCount="{unique}"', head,
                      count=1)
        return (head + "".join(items) + "</sst>" + tail).encode("utf-8")


def _number_texts(values: pa.Array, styles: _Styles) -> tuple[pa.Array, str]:
    """The values as the numbers Excel stores (dates as serial days, times as shares of a day), and their style."""
    kind = values.type
    if pa.types.is_date(kind):
        days = pc.add(values.cast(pa.int32()), (dt.date(1970, 1, 1) - _EXCEL_EPOCH).days)
        return days.cast(pa.string()), f' s="{styles.date}"'
    if pa.types.is_time(kind):
        share = pc.divide(values.cast(pa.time64("us")).cast(pa.int64()), float(_MICROSECONDS_PER_DAY))
        return share.cast(pa.string()), f' s="{styles.time}"'
    if pa.types.is_boolean(kind):
        return values.cast(pa.int8()).cast(pa.string()), ' t="b"'
    if pa.types.is_integer(kind):
        return values.cast(pa.string()), f' s="{styles.integer}"'
    if pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        numbers = values.cast(pa.float64())
        finite = pc.if_else(pc.is_finite(numbers), numbers, pa.scalar(None, pa.float64()))  # no NaN in a cell
        return finite.cast(pa.string()), ""
    raise TypeError(f"no spreadsheet cell for values of type {kind}")


def _cells(values: pa.ChunkedArray, strings: _SharedStrings, styles: _Styles) -> pa.Array:
    """The XML cell of each value of a column, ``<c/>`` for a missing one.

    Text goes to the shared strings: each distinct text's cell is written
    once and spread by ``take``. Numbers, dates and times are written whole
    by Arrow's kernels.
    """
    values = values.combine_chunks()
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        encoded = pc.dictionary_encode(values)
        distinct = encoded.dictionary.to_pylist()
        cells = pa.array([f'<c t="s"><v>{strings.index(text)}</v></c>' for text in distinct] + ["<c/>"])
        strings.references += len(values) - values.null_count
        return pc.take(cells, pc.fill_null(encoded.indices, len(distinct)))
    texts, style = _number_texts(values, styles)
    return pc.fill_null(pc.binary_join_element_wise(f"<c{style}><v>", texts, "</v></c>", ""), "<c/>")


def _row_chunks(table: pa.Table, strings: _SharedStrings, styles: _Styles) -> Iterator[pa.Buffer]:
    """The table's rows as ``<row>`` elements from row 2 (the header is row 1), a chunk at a time."""
    for start in range(0, table.num_rows, CHUNK_ROWS):
        chunk = table.slice(start, CHUNK_ROWS)
        numbers = pa.array(range(start + 2, start + 2 + chunk.num_rows), pa.int64()).cast(pa.string())
        opening = pc.binary_join_element_wise('<row r="', numbers, '">', "")
        cells = (_cells(values, strings, styles) for values in chunk.columns)
        yield _joined(pc.binary_join_element_wise(opening, *cells, "</row>", ""))


def _joined(texts: pa.Array) -> pa.Buffer:
    """The concatenation of a string array without nulls: the slice of its data buffer its offsets span."""
    offsets = texts.buffers()[1]
    first, last = (int.from_bytes(offsets[4 * i: 4 * i + 4], "little", signed=True)
                   for i in (texts.offset, texts.offset + len(texts)))
    return texts.buffers()[2][first:last]


def _splice(sheet_xml: bytes, table: pa.Table, chunks: Iterator[pa.Buffer]) -> Iterator[bytes | pa.Buffer]:
    """xlsxwriter's sheet with its dimension made whole and the rows inserted after the header."""
    last_cell = f"{column_letter(max(table.num_columns - 1, 0))}{table.num_rows + 1}"
    text = re.sub(rb'<dimension ref="[^"]*"/>', f'<dimension ref="A1:{last_cell}"/>'.encode(), sheet_xml, count=1)
    head, tail = text.rsplit(b"</sheetData>", 1)
    yield head
    yield from chunks
    yield b"</sheetData>" + tail


def workbook_bytes(sheets: Sequence[tuple[str, pa.Table]], *, notes_sheet: str, notes: Sequence[NoteRow],
                   properties: dict[str, str] | None = None) -> bytes:
    """An ``.xlsx`` file: one sheet per table (header row, then one row per record), then the notes sheet.

    Strings become text cells, integers and floats numbers, dates and times
    Excel dates and times (shown ``dd/mm/yyyy`` and ``hh:mm``), nulls empty
    cells. In the notes sheet a label with a None value is a heading.

    Examples
    --------
    >>> import openpyxl
    >>> table = pa.table({"Date": [dt.date(2020, 1, 30)], "Tués": [1], "Lumière": ["Nuit"]})
    >>> data = workbook_bytes([("Accidents", table)], notes_sheet="Filtres", notes=[("Source", "ONISR")])
    >>> book = openpyxl.load_workbook(io.BytesIO(data))
    >>> book.sheetnames, [c.value for c in book["Accidents"][2]], book["Filtres"]["B1"].value
    (['Accidents', 'Filtres'], [datetime.datetime(2020, 1, 30, 0, 0), 1, 'Nuit'], 'ONISR')
    """
    laid_out = io.BytesIO()
    book = xlsxwriter.Workbook(laid_out, {"in_memory": True, "strings_to_urls": False, "strings_to_formulas": False,
                                          "strings_to_numbers": False})
    book.set_properties(properties or {})
    formats = _data_formats(book)
    formats["header"] = book.add_format({"bold": True, "text_wrap": True, "valign": "top", "bg_color": "#E7EEF7",
                                         "border": 1})
    for name, table in sheets:
        _lay_out_sheet(book, name, table, formats)
    _write_notes(book, notes_sheet, notes)
    book.close()
    # The style numbers xlsxwriter gave the column formats while writing the sheets (no public accessor).
    styles = _Styles(**{kind: formats[kind]._get_xf_index() for kind in ("date", "time", "integer")})
    return _with_rows(laid_out.getvalue(), sheets, styles)


def _with_rows(laid_out: bytes, sheets: Sequence[tuple[str, pa.Table]], styles: _Styles) -> bytes:
    """xlsxwriter's file with each data sheet's rows and their strings added (sheet N is the N-th table)."""
    tables = {f"xl/worksheets/sheet{n}.xml": table for n, (_, table) in enumerate(sheets, start=1)}
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(laid_out)) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as target:
        strings = _SharedStrings(source.read("xl/sharedStrings.xml"))
        for item in source.infolist():
            if item.filename == "xl/sharedStrings.xml":
                continue
            data = source.read(item)
            if item.filename not in tables:
                target.writestr(item, data)
                continue
            table = tables[item.filename]
            with target.open(item.filename, "w", force_zip64=True) as sheet:
                for part in _splice(data, table, _row_chunks(table, strings, styles)):
                    sheet.write(part)
        target.writestr("xl/sharedStrings.xml", strings.xml())
    return out.getvalue()
