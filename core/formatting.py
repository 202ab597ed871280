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


def format_quoted(text: str) -> str:
    """Outside text (a link's value) between French quotes, cut at :data:`QUOTED_CHARS` characters.

    The text is not escaped here: pages escape the whole message (``ui.text.plain``).

    >>> format_quoted("2001-2030")
    '« 2001-2030 »'
    """
    return "« " + (text if len(text) <= QUOTED_CHARS else text[:QUOTED_CHARS] + "…") + " »"
