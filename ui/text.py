"""Text from outside (a link, a file) shown inside the app's own messages, as text only."""

from __future__ import annotations

import re
import string

import streamlit as st

# CommonMark lets a backslash make any ASCII punctuation literal; Streamlit's own
# markdown extensions (``:red[...]``, ``:material/icon:``, ``$math$``) start with punctuation too.
_PUNCTUATION = re.compile("([" + re.escape(string.punctuation) + "])")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029]+")
# GitHub-flavoured markdown turns bare addresses into links after unescaping (https://…, www.…,
# name@host): an invisible word joiner inside each trigger keeps them text.
_AUTOLINK_TRIGGERS = re.compile(r"(//|www\.|@)", re.IGNORECASE)
_WORD_JOINER = "\u2060"


def plain(text: str) -> str:
    r"""``text`` escaped for Streamlit's markdown: links, images, emphasis and HTML show as typed.

    Examples
    --------
    >>> plain("[cliquez ici](https://x.example)")
    '\\[cliquez ici\\]\\(https\\:\\/\u2060\\/x\\.example\\)'
    >>> plain("a\nb")
    'a b'
    """
    text = _AUTOLINK_TRIGGERS.sub(lambda m: m[0][0] + _WORD_JOINER + m[0][1:], _LINE_BREAKS.sub(" ", text))
    return _PUNCTUATION.sub(r"\\\1", text)


def warn_link(notes: list[str], *, applied: str) -> None:
    """One warning listing what a link got wrong (its notes shown as text); ``applied`` says what still holds."""
    st.warning(f"Lien partiellement invalide, {applied} :  \n" + "  \n".join(plain(note) for note in notes),
               icon=":material/link_off:")
