"""Streamlit-side helpers shared by the pages (cached store access, shared widgets).

``core`` never imports Streamlit; this package is the thin layer that caches
core results per filter and draws what several pages share.
"""
