"""Split the data lines of an official file into fields, one line being one record.

No official BAAC file breaks a record over two lines, so a line is a record: an
unclosed quote, a missing or extra field, another separator, binary bytes or a
line cut short cost that line only, and it is set aside with its number, the
cause and its text. DuckDB's CSV reader is not used for this: its dialect
sniffer works on a sample (one bad line made a small file fail while the same
line in a large file was rejected), a quoted field may run over the following
lines, and collecting its rejects cost 56 s per 100,000 bad lines.

The two shapes official files use (every field quoted, or no quote at all) are
split by Arrow kernels over the whole file at once; only lines of another shape
go through Python, one strict regular expression each (``bench/ingest.py``
times both).
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from core.ingest.layouts import CONTROL_BYTES

# Control characters other than tab (see layouts.CONTROL_BYTES), in RE2 syntax for Arrow.
_CONTROL_RE2 = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
BINARY = "binary bytes (control characters)"
_OTHER_SEPARATORS = (";", ",", "\t", "|")
_SHOWN_CHARS = 300
_LIST_TYPE = pa.list_(pa.large_string())
_REJECT_SCHEMA = pa.schema([("line", pa.int64()), ("cause", pa.large_string()), ("text", pa.large_string())])


@dataclass(frozen=True)
class ParsedLines:
    """The fields of a file's good lines, and the lines set aside."""

    fields: pa.Table  # text columns c0, c1... and ``line`` (line number in the file), in file order
    rejects: pa.Table  # ``line``, ``cause`` and ``text`` (as shown: escaped, cut at 300), in file order

    @property
    def read(self) -> int:
        """Data lines read (blank lines are not records): kept plus set aside."""
        return self.fields.num_rows + self.rejects.num_rows


def parse_lines(
    body: bytes, *, n_fields: int, delimiter: str, encodings: tuple[str, ...], first_line: int = 2
) -> ParsedLines:
    """Split ``body`` (a file after its header) into ``n_fields`` fields per line.

    Parameters
    ----------
    body
        The file's bytes after the header line.
    n_fields
        Fields the header has; a line with another count is set aside.
    delimiter
        The layout's separator (never guessed from the data).
    encodings
        Tried in order on the whole body; with one encoding only, a line that
        does not decode is set aside.
    first_line
        Line number of the first line of ``body`` in the file.

    Examples
    --------
    >>> parsed = parse_lines(b'"1";"a"\\n"2";"b\\n3,c\\n', n_fields=2, delimiter=";", encodings=("utf-8",))
    >>> parsed.fields.column("c1").to_pylist(), parsed.fields.column("line").to_pylist()
    (['a'], [2])
    >>> parsed.rejects.select(["line", "cause"]).to_pylist()  # doctest: +NORMALIZE_WHITESPACE
    [{'line': 3, 'cause': 'unclosed quote'},
     {'line': 4, 'cause': '1 field, 2 expected (separated by "," instead of ";"?)'}]
    """
    utf8, undecodable = _to_utf8(body, encodings)
    lines = _numbered_lines(utf8, first_line)
    rejects = [_cause_table([(first_line + index, cause, text) for index, cause, text in undecodable])]
    if CONTROL_BYTES.search(utf8):
        lines, binary = _set_aside_binary(lines)
        rejects.append(binary)
    lines = lines.append_column("quotes", pc.count_substring(lines.column("text"), '"'))
    odd = pc.equal(pc.bit_wise_and(lines.column("quotes"), 1), 1)
    rejects.append(_set_aside(lines.filter(odd), "unclosed quote"))
    lines = lines.filter(pc.invert(odd))
    lists, exact = _split_shapes(lines.column("text"), lines.column("quotes"), delimiter)
    counts = pc.list_value_length(lists)
    good = pc.and_(exact, pc.equal(counts, n_fields))
    miscounted = pc.and_(exact, pc.not_equal(counts, n_fields))
    causes = _count_causes(counts.filter(miscounted), lines.column("text").filter(miscounted), n_fields, delimiter)
    rejects.append(_set_aside(lines.filter(miscounted), causes))
    # Lines of neither shape: another separator, else the strict parse, one by one.
    other_shape, other_rejects = _set_aside_other_separators(lines.filter(pc.invert(exact)), n_fields, delimiter)
    rejects += other_rejects
    slow_lines, slow_fields, slow_rejects = _split_one_by_one(other_shape, n_fields, delimiter)
    rejects.append(slow_rejects)
    fields = _fields_table(
        pa.chunked_array([*_chunks(lists.filter(good).cast(_LIST_TYPE)), pa.array(slow_fields, _LIST_TYPE)]),
        pa.chunked_array([*_chunks(lines.column("line").filter(good)), pa.array(slow_lines, pa.int64())]),
        n_fields, ordered=not slow_lines,
    )
    last = first_line + utf8.count(b"\n") if not utf8.endswith(b"\n") else None
    return ParsedLines(fields=fields, rejects=_rejects_table(rejects, last))


def _numbered_lines(utf8: bytes, first_line: int) -> pa.Table:
    """The non-blank lines of ``utf8`` with their line numbers (``line``, ``text``)."""
    texts = _line_array(utf8)
    lines = pa.table({"line": np.arange(first_line, first_line + len(texts), dtype=np.int64), "text": texts})
    return lines.filter(pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(texts)), 0))


def _set_aside_binary(lines: pa.Table) -> tuple[pa.Table, pa.Table]:
    """(lines without control characters, the others as rejects, their text escaped)."""
    binary = pc.match_substring_regex(lines.column("text"), _CONTROL_RE2)
    shown = [repr(text)[1:-1] for text in lines.column("text").filter(binary).to_pylist()]
    numbers = lines.column("line").filter(binary).to_pylist()
    return lines.filter(pc.invert(binary)), _cause_table([(n, BINARY, t) for n, t in zip(numbers, shown, strict=True)])


def _split_one_by_one(lines: pa.Table, n_fields: int, delimiter: str) -> tuple[list[int], list[list[str]], pa.Table]:
    """(line numbers, fields) of the lines :func:`split_strict` accepts, and the others as rejects."""
    numbers, fields, rejects = [], [], []
    for line, text in zip(lines.column("line").to_pylist(), lines.column("text").to_pylist(), strict=True):
        split, cause = split_strict(text, n_fields, delimiter)
        if cause is None:
            numbers.append(line)
            fields.append(split)
        else:
            rejects.append((line, cause, text))
    return numbers, fields, _cause_table(rejects)


def _split_shapes(texts: pa.ChunkedArray, quotes: pa.ChunkedArray, delimiter: str) -> tuple[pa.Array, pa.Array]:
    """Split the two shapes official files use, every field quoted or no quote at all: (field lists, exact).

    A line holding no quote splits on the separator. A line that starts and
    ends with a quote, with the inner ``"{sep}"`` splitting it into k parts,
    is exactly k quoted fields when it holds 2k quotes (no quote inside a
    field). ``exact`` is False for lines of neither shape. A file is nearly
    always of one shape, so only the split it needs is made.
    """
    plain = pc.equal(quotes, 0)
    n_plain = pc.sum(plain).as_py() or 0
    if n_plain == len(texts):
        return pc.split_pattern(texts, delimiter), plain
    inner = pc.split_pattern(pc.utf8_slice_codeunits(texts, 1, -1), f'"{delimiter}"')
    boxed = pc.and_(_boxed(texts), pc.equal(quotes, pc.multiply(pc.list_value_length(inner), 2)))
    if n_plain == 0:
        return inner, boxed
    return pc.if_else(plain, pc.split_pattern(texts, delimiter), inner), pc.or_(plain, boxed)


def _set_aside_other_separators(lines: pa.Table, n_fields: int, delimiter: str) -> tuple[pa.Table, list[pa.Table]]:
    """Set aside lines that are exactly ``n_fields`` quoted fields under another separator; return the rest."""
    rejects = []
    for other in _OTHER_SEPARATORS:
        if other == delimiter or not lines.num_rows:
            continue
        elsewhere = _boxed_by(lines.column("text"), lines.column("quotes"), other, n_fields)
        rejects.append(_set_aside(lines.filter(elsewhere),
                                  f"separated by {_named(other)} instead of {_named(delimiter)}"))
        lines = lines.filter(pc.invert(elsewhere))
    return lines, rejects


def _boxed(texts: pa.Array) -> pa.Array:
    return pc.and_(pc.and_(pc.starts_with(texts, '"'), pc.ends_with(texts, '"')),
                   pc.greater_equal(pc.utf8_length(texts), 2))


def _boxed_by(texts: pa.Array, quotes: pa.Array, separator: str, n_fields: int) -> pa.Array:
    """Where a line is exactly ``n_fields`` quoted fields separated by ``separator``."""
    count = pc.list_value_length(pc.split_pattern(pc.utf8_slice_codeunits(texts, 1, -1), f'"{separator}"'))
    return pc.and_(pc.and_(_boxed(texts), pc.equal(count, n_fields)), pc.equal(quotes, 2 * n_fields))


def _count_causes(counts: pa.Array, texts: pa.Array, n_fields: int, delimiter: str) -> pa.Array:
    """"k fields, n expected" per line, with the separator a short line seems to use instead."""
    words = pc.if_else(pc.equal(counts, 1), _text(" field, "), _text(" fields, "))
    causes = pc.binary_join_element_wise(pc.cast(counts, pa.large_string()), words, _text(f"{n_fields} expected"),
                                         _text(""))
    hint = pa.nulls(len(counts), pa.large_string())
    for other in reversed([s for s in _OTHER_SEPARATORS if s != delimiter]):
        used = pc.and_(pc.less(counts, n_fields), pc.greater_equal(pc.count_substring(texts, other), n_fields - 1))
        hint = pc.if_else(used, _text(f" (separated by {_named(other)} instead of {_named(delimiter)}?)"), hint)
    return pc.binary_join_element_wise(causes, pc.fill_null(hint, _text("")), _text(""))


def _set_aside(lines: pa.Table, cause: str | pa.Array) -> pa.Table:
    causes = _repeat(cause, lines.num_rows) if isinstance(cause, str) else cause
    return pa.table({"line": lines.column("line"), "cause": causes, "text": lines.column("text")})


def _cause_table(rows: list[tuple[int, str, str]]) -> pa.Table:
    """Set-aside lines found one by one in Python: (line, cause, text) rows as a table."""
    lines, causes, texts = zip(*rows, strict=True) if rows else ((), (), ())
    return pa.table({"line": pa.array(lines, pa.int64()), "cause": pa.array(causes, pa.large_string()),
                     "text": pa.array(texts, pa.large_string())})


def _repeat(value: str, n: int) -> pa.Array:
    return pa.repeat(_text(value), n)


def _chunks(values: pa.Array | pa.ChunkedArray) -> list[pa.Array]:
    return values.chunks if isinstance(values, pa.ChunkedArray) else [values]


def _text(value: str) -> pa.Scalar:
    """A text scalar of the type the line arrays have (Arrow kernels do not mix string widths)."""
    return pa.scalar(value, pa.large_string())


def _rejects_table(parts: list[pa.Table], last: int | None) -> pa.Table:
    """The set-aside lines in file order, texts cut at 300 characters.

    ``last`` is the number of the file's last line when it has no line end: if
    that line is set aside it was most likely cut short, and its cause says so.
    """
    rejects = pa.concat_tables([t.cast(_REJECT_SCHEMA) for t in parts] or [_REJECT_SCHEMA.empty_table()])
    rejects = rejects.take(pc.sort_indices(rejects.column("line")))
    texts = rejects.column("text")
    long = pc.greater(pc.utf8_length(texts), _SHOWN_CHARS)
    cut_texts = pc.binary_join_element_wise(pc.utf8_slice_codeunits(texts, 0, _SHOWN_CHARS), _text("…"), _text(""))
    texts = pc.if_else(long, cut_texts, texts)
    causes = rejects.column("cause")
    if last is not None:
        cut = pc.binary_join_element_wise(causes, _text("; last line, without line end: cut short?"), _text(""))
        causes = pc.if_else(pc.equal(rejects.column("line"), last), cut, causes)
    return pa.table({"line": rejects.column("line"), "cause": causes, "text": texts})


def _fields_table(lists: pa.ChunkedArray, line_numbers: pa.ChunkedArray, n_fields: int, *, ordered: bool) -> pa.Table:
    """Columns c0... and ``line`` from each good line's field list, in file order (sorted unless ``ordered``)."""
    if not ordered:
        order = pc.sort_indices(line_numbers)
        lists, line_numbers = lists.take(order), line_numbers.take(order)
    columns = {f"c{j}": pc.list_element(lists, j) for j in range(n_fields)}
    columns["line"] = line_numbers
    return pa.table(columns)


def split_strict(line: str, n_fields: int, delimiter: str) -> tuple[list[str], None] | tuple[None, str]:
    """(fields, None) for a well-formed line, else (None, the cause).

    Well formed: fields separated by ``delimiter``, each either quoted (``""``
    inside for a quote) or holding no quote at all, and ``n_fields`` of them.

    Examples
    --------
    >>> split_strict('"a";"b ""c"" x";d', 3, ";")
    (['a', 'b "c" x', 'd'], None)
    >>> split_strict('"a";b"c";d', 3, ";")
    (None, 'quote inside an unquoted field')
    """
    if line.count('"') % 2:
        return None, "unclosed quote"
    if not _record_pattern(delimiter).fullmatch(line):
        for other in _OTHER_SEPARATORS:
            if other != delimiter and other in line and _record_pattern(other).fullmatch(line):
                fields = next(csv.reader([line], delimiter=other))
                if len(fields) == n_fields:
                    return None, f"separated by {_named(other)} instead of {_named(delimiter)}"
        return None, "quote inside an unquoted field"
    fields = next(csv.reader([line], delimiter=delimiter, strict=True))
    if len(fields) != n_fields:
        return None, f"{len(fields)} field{'s' if len(fields) > 1 else ''}, {n_fields} expected"
    return fields, None


_PATTERNS: dict[str, re.Pattern[str]] = {}


def _record_pattern(delimiter: str) -> re.Pattern[str]:
    if delimiter not in _PATTERNS:
        d = re.escape(delimiter)
        field = rf'(?:"[^"]*(?:""[^"]*)*"|[^"{d}]*)'
        _PATTERNS[delimiter] = re.compile(rf"{field}(?:{d}{field})*")
    return _PATTERNS[delimiter]


def _named(separator: str) -> str:
    return json.dumps(separator)


def _to_utf8(body: bytes, encodings: tuple[str, ...]) -> tuple[bytes, list[tuple[int, str, str]]]:
    """The body as UTF-8, and (line index, cause, text shown) of the lines no encoding could read.

    Those lines are blanked with spaces of the same length, so offsets and line
    numbers still hold. Only lines holding a non-ASCII byte are decoded one by one.
    """
    for encoding in encodings:
        try:
            text = body.decode(encoding)
        except UnicodeDecodeError:
            continue
        return (body if encoding == "utf-8" else text.encode("utf-8")), []
    raw = np.frombuffer(body, dtype=np.uint8)
    starts = np.concatenate(([0], np.flatnonzero(raw == ord("\n")) + 1))
    suspects = np.unique(np.searchsorted(starts, np.flatnonzero(raw >= 0x80), side="right") - 1)
    ends = np.append(starts[1:] - 1, len(body))
    blanked, bad = bytearray(body), []
    for index in suspects.tolist():
        line = body[starts[index]:ends[index]]
        try:
            line.decode(encodings[0])
        except UnicodeDecodeError:
            cause = BINARY if CONTROL_BYTES.search(line) else f"bytes not valid in {encodings[0].upper()}"
            bad.append((index, cause, repr(line)[2:-1]))
            blanked[starts[index]:ends[index]] = b" " * len(line)
    return bytes(blanked), bad


def _line_array(utf8: bytes) -> pa.Array:
    """One Arrow string per line of ``utf8``, line ends removed, without copying the text."""
    ends = np.flatnonzero(np.frombuffer(utf8, dtype=np.uint8) == ord("\n"))
    offsets = np.concatenate(([0], ends + 1)).astype(np.int64)
    if offsets[-1] != len(utf8):
        offsets = np.append(offsets, len(utf8))
    array = pa.LargeStringArray.from_buffers(len(offsets) - 1, pa.py_buffer(offsets), pa.py_buffer(utf8))
    return pc.utf8_rtrim(array, characters="\r\n")
