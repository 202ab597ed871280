"""The print stylesheet every page gets (``app.py`` injects it once): what Ctrl+P puts on paper.

A printed page is read away from the app: the sidebar, the header and its
toolbar, and every button (nothing to click on paper) are left out; the map,
the tables and the charts take the page's whole width, on A4 landscape. (A
plotly chart keeps the width it was drawn at on screen: from a window much
wider than the page, its right end is cut.) Streamlit lays its
page out in a scrolling box the height of the window, which would print one
screenful: the boxes are let grow to their content. The selectors are the
``data-testid`` attributes of Streamlit 1.67, checked on the real pages by
``tests/e2e/test_risk_report_e2e.py``.
"""

from __future__ import annotations

from typing import Final

#: Elements that mean nothing on paper.
HIDDEN: Final = (
    "stSidebar", "stSidebarCollapsedControl", "stExpandSidebarButton", "stHeader", "stToolbar", "stDecoration",
    "stStatusWidget", "stButton", "stDownloadButton", "stFormSubmitButton", "stLinkButton", "stElementToolbar",
)
#: Elements given the page's whole width (with the column that holds them).
FULL_WIDTH: Final = ("stDeckGlJsonChart", "stTable", "stDataFrame", "stPlotlyChart")


def _testids(names: tuple[str, ...], suffix: str = "") -> str:
    return ",".join(f'[data-testid="{name}"]{suffix}' for name in names)


def print_css() -> str:
    """The ``<style>`` element: rules for ``@media print`` only, the screen is left alone.

    Examples
    --------
    >>> css = print_css()
    >>> css.startswith("<style>@media print{") and '[data-testid="stSidebar"]' in css
    True
    """
    holds = ",".join(f'[data-testid="stColumn"]:has([data-testid="{name}"])' for name in FULL_WIDTH)
    rules = [
        # Landscape: the map's 3:1 columns, the ten-column hotspot table and the charts drawn at screen width fit.
        "@page{size:A4 landscape;margin:1cm}",
        f"{_testids(HIDDEN)}{{display:none !important}}",
        # The app scrolls inside boxes the height of the window: let them grow so every part is printed.
        '[data-testid="stApp"],[data-testid="stAppViewContainer"],[data-testid="stMain"]'
        "{position:static !important;overflow:visible !important;height:auto !important}",
        '[data-testid="stMain"]{margin:0 !important}',
        '[data-testid="stMainBlockContainer"]{max-width:none !important;width:100% !important;padding:0 !important}',
        '[data-testid="stHorizontalBlock"]{flex-wrap:wrap !important}',
        f"{holds}{{flex:1 1 100% !important;width:100% !important;max-width:100% !important}}",
        f"{_testids(FULL_WIDTH)}{{width:100% !important}}",
        '[data-testid="stTable"] table{width:100% !important}',
        f"{_testids(FULL_WIDTH)},[data-testid=\"stMetric\"]{{break-inside:avoid}}",
    ]
    return "<style>@media print{" + "".join(rules) + "}</style>"
