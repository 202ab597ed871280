"""JSON lines in, JSON lines out: ``python -m core predict`` answers every line, whatever it holds.

Why a module of its own
-----------------------
A dispatch centre pipes incidents through the command and matches answers to
questions by position. So the framing must hold against anything:

* exactly one output line per input line, in order, blank lines included (an
  error object), the last line too when it lacks its newline;
* any line, however hostile (broken or non-UTF-8 bytes, NaN, a number of 5,000
  digits, JSON nested 100,000 deep, a line of megabytes), gets an answer or an
  error object, and the process goes on;
* every output line is strict JSON in strict UTF-8 (no NaN or Infinity, no lone
  surrogate): an ``id`` that could not be echoed as it came is refused by
  :func:`core.incident.parse_id`;
* answers leave as soon as they are ready: lines are read with :func:`os.read`
  as they arrive, and a batch is predicted when no more input is waiting
  (:func:`read_batches`), so a live pipe gets each answer within milliseconds
  while a file is read in batches of thousands.
"""

from __future__ import annotations

import os
import select
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from typing import Any, BinaryIO, Final

import orjson

from core.incident.fields import IncidentError
from core.incident.parse import echoed_id

#: Longest line read (bytes); a longer line is answered with an error and skipped.
MAX_LINE_BYTES: Final = 1 << 20
#: Field named by the errors about a whole line.
LINE_FIELD: Final = "line"
_CHUNK: Final = 1 << 16
_BOM: Final = b"\xef\xbb\xbf"

#: orjson's messages, in French (any other reads "syntaxe invalide").
_JSON_MESSAGES: Final = {
    "unexpected end of data": "fin de ligne inattendue",
    "trailing comma is not allowed": "virgule en trop",
    "unexpected content after document": "données en trop après la valeur",
    "unexpected character, expected a string key": "nom de champ entre guillemets attendu",
    "unexpected control character in string": "caractère de contrôle dans un texte",
    "unexpected character": "caractère inattendu",
    "invalid escape": "échappement \\ invalide",
    "expected ':'": "deux-points attendus",
}
_CONSTANTS: Final = (b"NaN", b"Infinity", b"-Infinity")


def decode_line(raw: bytes, number: int) -> Any:
    """The JSON value of one input line.

    Parameters
    ----------
    raw : bytes
        The line without its ``\\n`` (a final ``\\r`` and, on the first line, a
        UTF-8 byte-order mark are ignored).
    number : int
        Its position, from 1, named in the reasons.

    Raises
    ------
    IncidentError
        With field ``line`` and a French reason: blank line, bytes that are not
        UTF-8, NaN or Infinity, a number too long to read, nesting too deep,
        broken JSON.

    Examples
    --------
    >>> decode_line(b'{"atm": 2}', 1)
    {'atm': 2}
    >>> for line in (b"", b'{"id": NaN}', b"\\xff", b"[" * 100_000, b'{"a": 1'):
    ...     try:
    ...         decode_line(line, 3)
    ...     except IncidentError as error:
    ...         print(error.reason)
    ligne 3 vide : un objet JSON par ligne est attendu
    ligne 3 : NaN n’est pas du JSON (nombres finis seulement)
    ligne 3 : octets non UTF-8 à la position 1
    ligne 3 : JSON imbriqué trop profondément (plus de 1 024 niveaux)
    ligne 3 : JSON invalide à la colonne 8 (fin de ligne inattendue)
    """
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    if number == 1 and raw.startswith(_BOM):
        raw = raw[len(_BOM):]
    if not raw.strip():
        raise IncidentError(LINE_FIELD, f"ligne {number} vide : un objet JSON par ligne est attendu")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise IncidentError(LINE_FIELD, f"ligne {number} : {_decode_reason(raw, error)}") from None


def decode_document(raw: bytes, field: str) -> Any:
    """The JSON value of a whole document (an HTTP request's body), with the reasons of :func:`decode_line`.

    Raises
    ------
    IncidentError
        Naming ``field``: empty document, bytes that are not UTF-8, NaN or
        Infinity, a number too long to read, nesting too deep, broken JSON.

    Examples
    --------
    >>> decode_document(b'\\n{"atm": 2}\\n', "body")
    {'atm': 2}
    >>> for body in (b" ", b'{"atm": Infinity}'):
    ...     try:
    ...         decode_document(body, "body")
    ...     except IncidentError as error:
    ...         print(error.field, "|", error.reason)
    body | document vide : un objet JSON est attendu
    body | Infinity n’est pas du JSON (nombres finis seulement)
    """
    if raw.startswith(_BOM):
        raw = raw[len(_BOM):]
    if not raw.strip():
        raise IncidentError(field, "document vide : un objet JSON est attendu")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise IncidentError(field, _decode_reason(raw, error)) from None


def _decode_reason(raw: bytes, error: orjson.JSONDecodeError) -> str:
    """Why orjson could not read a line, in French."""
    message, position = str(error.msg), int(error.pos)
    if "UTF-8" in message:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as bad:
            return f"octets non UTF-8 à la position {bad.start + 1}"
        return "octets non UTF-8"
    if "surrogate" in message:
        return "texte avec une demi-paire de substitution Unicode isolée (\\ud800…) : pas de l’UTF-8 valide"
    if "depth" in message:
        return "JSON imbriqué trop profondément (plus de 1 024 niveaux)"
    for constant in _CONSTANTS:
        if raw.startswith(constant, max(position - 1, 0)) or raw.startswith(constant, position):
            return f"{constant.decode()} n’est pas du JSON (nombres finis seulement)"
    if "infinity" in message:
        return "nombre trop grand (hors des nombres à virgule de 64 bits)"
    french = next((text for english, text in _JSON_MESSAGES.items() if message.startswith(english)),
                  "syntaxe invalide")
    return f"JSON invalide à la colonne {error.colno} ({french})"


def encode_result(result: dict[str, Any]) -> bytes:
    """One output line: JSON in strict UTF-8, ``\\n``-terminated; never raises.

    Validated input holds no NaN, Infinity or lone surrogate (:func:`core.incident.parse_id`
    refuses such ids); a result that still cannot be written becomes an error object.

    Examples
    --------
    >>> encode_result({"id": "é", "p_severe": 0.5})
    b'{"id":"\\xc3\\xa9","p_severe":0.5}\\n'
    >>> orjson.loads(encode_result({"id": "\\ud800"}))["error"]["reason"]
    'réponse impossible à écrire en JSON strict'
    """
    try:
        return orjson.dumps(result, option=orjson.OPT_APPEND_NEWLINE)
    except (TypeError, orjson.JSONEncodeError):
        fallback = {"error": {"field": LINE_FIELD, "reason": "réponse impossible à écrire en JSON strict"}}
        return orjson.dumps(fallback, option=orjson.OPT_APPEND_NEWLINE)


def read_batches(stream: BinaryIO, *, batch_size: int, max_line: int = MAX_LINE_BYTES
                 ) -> Iterator[list[bytes | IncidentError]]:
    """The lines of ``stream`` in batches: as many as are waiting, at most ``batch_size``.

    A batch is handed over as soon as no more input is ready, so a slow writer
    gets each answer at once and a fast one gets large batches. Lines longer
    than ``max_line`` bytes come as an :class:`~core.incident.fields.IncidentError`
    (the rest of such a line is skipped as it is read, never held).

    Examples
    --------
    >>> import io
    >>> [len(batch) for batch in read_batches(io.BytesIO(b"a\\nb\\n\\nlast"), batch_size=3)]
    [3, 1]
    """
    fd = _file_descriptor(stream)
    read: Callable[[], bytes] = (lambda: os.read(fd, _CHUNK)) if fd is not None else (lambda: stream.read1(_CHUNK))
    splitter = _LineSplitter(max_line)
    pending: list[bytes | IncidentError] = []
    eof = False
    while True:
        while not eof and (not pending or (len(pending) < batch_size and _ready(fd))):
            data = read()
            if not data:
                eof = True
                pending += splitter.finish()
                break
            pending += splitter.feed(data)
        if pending:
            yield pending[:batch_size]
            del pending[:batch_size]
        elif eof:
            return


class _LineSplitter:
    """Cuts chunks of bytes into lines; a line longer than ``max_line`` becomes an error, never held whole."""

    def __init__(self, max_line: int) -> None:
        self.max_line = max_line
        self.partial = bytearray()  # the start of the line being read
        self.skipping = False  # inside a line longer than max_line
        self.number = 0  # lines completed so far

    def feed(self, data: bytes) -> list[bytes | IncidentError]:
        """The lines that ``data`` completes."""
        lines: list[bytes | IncidentError] = []
        partial, max_line = self.partial, self.max_line
        *complete, rest = data.split(b"\n")
        for piece in complete:
            self.number += 1
            if self.skipping or len(partial) + len(piece) > max_line:
                lines.append(_too_long(self.number, max_line))
            else:
                lines.append(bytes(partial + piece) if partial else piece)
            partial.clear()
            self.skipping = False
        if not self.skipping:
            partial += rest
            if len(partial) > max_line:
                partial.clear()
                self.skipping = True
        return lines

    def finish(self) -> list[bytes | IncidentError]:
        """The last line, when the input does not end with a line break."""
        if not (self.partial or self.skipping):
            return []
        self.number += 1
        last = _too_long(self.number, self.max_line) if self.skipping else bytes(self.partial)
        self.partial.clear()
        self.skipping = False
        return [last]


def _file_descriptor(stream: BinaryIO) -> int | None:
    try:
        return stream.fileno()
    except (AttributeError, OSError, ValueError):
        return None  # an in-memory stream: everything is there already


def _ready(fd: int | None) -> bool:
    """Whether more input can be read without waiting."""
    if fd is None:
        return True
    try:
        return bool(select.select([fd], [], [], 0)[0])
    except (OSError, ValueError):
        return True


def _too_long(number: int, max_line: int) -> IncidentError:
    return IncidentError(LINE_FIELD, f"ligne {number} de plus de {max_line // (1 << 20)} Mio : ignorée")


def answer_lines(source: BinaryIO, sink: BinaryIO,
                 predict: Callable[[Sequence[Any]], list[dict[str, Any]]], *, batch_size: int) -> int:
    """Answer every line of ``source`` on ``sink``, in order; return the number of lines answered.

    Parameters
    ----------
    source, sink : binary streams
        Usually ``sys.stdin.buffer`` and ``sys.stdout.buffer``.
    predict : callable
        JSON values -> one result or error object per value, in order
        (:func:`core.model.predict.predict_many` with the model bound).
    batch_size : int
        Most lines predicted together.

    An unexpected failure of ``predict`` on a batch is retried line by line, so
    that only the line at fault gets an error (its traceback goes to stderr).
    Stops quietly when ``sink`` is closed by the reader.
    """
    number = 0
    for batch in read_batches(source, batch_size=batch_size):
        results: list[dict[str, Any] | None] = []
        values: list[Any] = []
        for raw in batch:
            number += 1
            try:
                if isinstance(raw, IncidentError):
                    raise raw
                values.append(decode_line(raw, number))
                results.append(None)
            except IncidentError as error:
                results.append({"error": error.as_dict()})
        answers = iter(predict_safely(predict, values))
        lines = b"".join(encode_result(result if result is not None else next(answers)) for result in results)
        try:
            sink.write(lines)
            sink.flush()
        except BrokenPipeError:
            return number
    return number


def predict_safely(predict: Callable[[Sequence[Any]], list[dict[str, Any]]], values: list[Any]
                   ) -> list[dict[str, Any]]:
    """``predict(values)``; if it fails unexpectedly, retried value by value so that only the one at fault errs.

    The value at fault gets an error object (its traceback goes to stderr);
    the command line and the API's batches both answer this way.
    """
    if not values:
        return []
    try:
        return predict(values)
    except Exception:  # noqa: BLE001 - one line must not cost the others their answers
        results = []
        for value in values:
            try:
                results.extend(predict([value]))
            except Exception:  # noqa: BLE001 - reported on stderr, answered with an error object
                traceback.print_exc(file=sys.stderr)
                result: dict[str, Any] = {"error": {"field": "incident", "reason": (
                    "erreur interne sur cette ligne (détail sur la sortie d’erreur) : signalez-la")}}
                incident_id = echoed_id(value)
                results.append(result if incident_id is None else {"id": incident_id, **result})
        return results
