"""The hour × weekday profile as a PNG for the report: accidents and severe ones, two heatmaps one above the other.

The same counts and colour scales as the page's plotly heatmaps
(:mod:`core.risk.profile_charts`), drawn by matplotlib so that the PDF needs
no browser.
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from core import codebook
from core.formatting import format_count
from core.risk.profile import HOURS, TimeProfile
from core.risk.profile_charts import SEVERE_WORDS


def _panel(figure: Figure, axes, counts: np.ndarray, *, title: str, colours: str) -> None:
    image = axes.imshow(counts, cmap=colours, aspect="auto", interpolation="nearest", vmin=0)
    axes.set_title(title, fontsize=9, loc="left")
    axes.set_yticks(range(len(codebook.WEEKDAY_LABELS)), list(codebook.WEEKDAY_LABELS.values()), fontsize=7)
    axes.set_xticks(range(0, HOURS, 2), [f"{h} h" for h in range(0, HOURS, 2)], fontsize=7)
    bar = figure.colorbar(image, ax=axes, fraction=0.03, pad=0.01)
    bar.ax.tick_params(labelsize=7)
    bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: format_count(value)))


def profile_png(profile: TimeProfile, *, width_in: float = 7.5, dpi: int = 160) -> bytes:
    """PNG of the accidents and the severe accidents by weekday (rows, Monday first) and hour.

    Examples
    --------
    >>> empty = np.zeros((7, 24), dtype=int)
    >>> profile_png(TimeProfile(empty, empty, np.zeros(12, int), np.zeros(12, int), 0))[:4]
    b'\\x89PNG'
    """
    figure = Figure(figsize=(width_in, width_in * 0.62), dpi=dpi, facecolor="white")
    canvas = FigureCanvasAgg(figure)  # no pyplot: no global state shared between the server's threads
    # Margins set by hand: matplotlib's constrained layout took a third of a second here.
    top, bottom = figure.subplots(2, 1, gridspec_kw={"left": 0.1, "right": 0.98, "top": 0.94, "bottom": 0.05,
                                                       "hspace": 0.35})
    _panel(figure, top, profile.accidents_by_hour, title="Accidents par jour et heure", colours="Blues")
    _panel(figure, bottom, profile.severe_by_hour, title=f"Accidents {SEVERE_WORDS} par jour et heure",
           colours="Reds")
    buffer = io.BytesIO()
    canvas.print_png(buffer, pil_kwargs={"compress_level": 1})  # fpdf2 compresses the page again
    return buffer.getvalue()
