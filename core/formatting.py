"""French number formatting for what users read (pages, tables, tooltips, captions)."""

from __future__ import annotations

NARROW_NBSP = "\u202f"
# Longest piece of a link quoted back in a message.
QUOTED_CHARS = 60


def format_count(value: int | float | None) -> str:
    """``2780`` -> ``'2 780'`` with a narrow no-break space, as French typography wants."""
    if value is None or value != value:
        return "–"
    return f"{int(value):,}".replace(",", NARROW_NBSP)


def format_percent(value: float | None, digits: int = 1) -> str:
    """``0.1234`` -> ``'12,3 %'``."""
    if value is None or value != value:
        return "–"
    return f"{value * 100:.{digits}f}".replace(".", ",") + "\u00a0%"


def format_decimal(value: float | None, digits: int = 1) -> str:
    """``1234.56`` -> ``'1 234,6'``: French decimal comma and digit grouping.

    Streamlit's ``st.table`` leaves numeric cells blank in this version, so
    tables show numbers as text formatted here.
    """
    if value is None or value != value:
        return "–"
    return f"{value:,.{digits}f}".replace(",", NARROW_NBSP).replace(".", ",")


def cut_text(text: str, limit: int = QUOTED_CHARS, *, escape: bool = False) -> str:
    """``text`` cut at ``limit`` characters, with "…" when something was cut.

    With ``escape``, for texts echoed outside a page (the model's error
    reasons), lone surrogates and control characters are written as escapes
    (``\\ud800``, ``\\x07``), and the cut counts the escaped text.

    >>> cut_text("abcdef", 3), cut_text("a\\x07b", escape=True), cut_text("\\ud800", 3, escape=True)
    ('abc…', 'a\\\\x07b', '\\\\ud…')
    """
    cut = text[:limit]
    if escape:
        cut = cut.encode("utf-8", "backslashreplace").decode("utf-8")
        if not cut.isprintable():
            cut = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in cut)
    return cut[:limit] + ("…" if len(text) > limit or len(cut) > limit else "")


def format_quoted(text: str, limit: int = QUOTED_CHARS, *, escape: bool = False) -> str:
    """Outside text (a link's value, a wrong field value) between French quotes, cut by :func:`cut_text`.

    Pages escape the whole message (``ui.text.plain``), so by default the text is kept as it is.

    >>> format_quoted("2001-2030"), format_quoted("abcdef", 3)
    ('« 2001-2030 »', '« abc… »')
    >>> format_quoted("a\\x07b", escape=True), format_quoted("\\ud800", 3, escape=True)
    ('« a\\\\x07b »', '« \\\\ud… »')
    """
    return "« " + cut_text(text, limit, escape=escape) + " »"


def script_safe(json_text: str) -> str:
    """JSON text that cannot close the ``<script>`` element it is written into (``</script>``, ``<!--``).

    Examples
    --------
    >>> script_safe('["</script>&"]')
    '["\\\\u003c/script\\\\u003e\\\\u0026"]'
    """
    return json_text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
