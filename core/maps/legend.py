"""Colour classes of a risk map and their legend: quantile or fixed breaks, palettes, the HTML legend.

The classes use the rounded bounds the legend shows, so that the legend says
exactly what each colour holds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

import numpy as np

# Perceptually uniform sequential scale (viridis, 8 classes) and a colour-blind-safe
# diverging scale centred on 1 for relative risks (ColorBrewer RdYlBu, 9 classes, blue for
# low): its middle is a pale yellow, seen on the white page, where RdBu's was white.
VIRIDIS = [(68, 1, 84), (70, 50, 127), (54, 92, 141), (39, 127, 142), (31, 161, 135), (74, 194, 109),
           (159, 218, 58), (253, 231, 37)]
DIVERGING = [(69, 117, 180), (116, 173, 209), (171, 217, 233), (224, 243, 248), (255, 255, 191),
             (254, 224, 144), (253, 174, 97), (244, 109, 67), (215, 48, 39)]
RR_BREAKS = [0.5, 0.67, 0.8, 0.91, 1.1, 1.25, 1.5, 2.0]
MASKED_COLOUR = (150, 150, 150)
# Outline of the hotspot chosen in the picker: a colour found in neither scale.
MARKED_COLOUR = (255, 0, 255)
FILL_ALPHA = 190


def class_breaks(values: np.ndarray, *, diverging: bool = False, classes: int = len(VIRIDIS),
                 scale: float = 1.0) -> tuple[list[float], int]:
    """Upper bounds between colour classes, and the decimals to write them with (of ``value * scale``).

    Fixed around 1 when ``diverging`` (2 decimals); else quantiles, so that
    each colour holds about as many hexagons, rounded to the decimals their
    spacing needs (0.0667 apart: 2 decimals), equal bounds merged. The
    classes use the rounded bounds, so that the legend says exactly what each
    colour holds and never shows "0,1 – 0,1".

    Examples
    --------
    >>> class_breaks(np.arange(1, 101, dtype=float), classes=4)
    ([26.0, 50.0, 75.0], 0)
    >>> class_breaks(np.array([1 / 15] * 30 + [2 / 15] * 20 + [0.2] * 10 + [1.2]))
    ([0.07, 0.13, 0.2], 2)
    """
    if diverging:
        return list(RR_BREAKS), 2
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)] * scale
    if finite.size == 0:
        return [], 0
    quantiles = np.unique(np.quantile(finite, np.linspace(0, 1, classes + 1)[1:-1]))
    # The finest step to keep apart: between two bounds, or between 0 and the smallest bound.
    steps = np.append(np.diff(quantiles), np.abs(quantiles[quantiles != 0]))
    digits = int(np.clip(-np.floor(np.log10(steps.min())), 0, 3)) if steps.size else 0
    rounded = np.unique(np.round(quantiles, digits))
    return [float(b) / scale for b in rounded], digits


def classify(values: np.ndarray, breaks: Sequence[float], *, masked: np.ndarray | None = None) -> np.ndarray:
    """Colour class of each value (0 = lowest), -1 where masked or NaN.

    A value equal to a break falls in the class below it.

    Examples
    --------
    >>> classify(np.array([0.1, 1.0, 5.0, np.nan]), [1.0, 2.0]).tolist()
    [0, 0, 2, -1]
    """
    values = np.asarray(values, dtype=float)
    classes = np.searchsorted(np.asarray(breaks, dtype=float), values, side="left").astype(np.int16)
    classes[~np.isfinite(values)] = -1
    if masked is not None:
        classes[np.asarray(masked, dtype=bool)] = -1
    return classes


def palette_for(breaks: Sequence[float], *, diverging: bool = False) -> list[tuple[int, int, int]]:
    """The colours of the ``len(breaks) + 1`` classes, spread over the palette."""
    palette = DIVERGING if diverging else VIRIDIS
    count = len(breaks) + 1
    if count >= len(palette):
        return list(palette)
    picks = np.round(np.linspace(0, len(palette) - 1, count)).astype(int)
    return [palette[i] for i in picks]


def legend_entries(breaks: Sequence[float], colours: Sequence[tuple[int, int, int]],
                   *, number_format: Callable[[float], str]) -> list[tuple[str, str]]:
    """(CSS colour, label) per class: "≤ a", "a – b", ..., "> z"."""
    if not breaks:
        return [(_css(colours[0]), "toutes valeurs")]
    labels = [f"≤ {number_format(breaks[0])}"]
    labels += [f"{number_format(low)} – {number_format(high)}"
               for low, high in zip(breaks[:-1], breaks[1:], strict=True)]
    labels.append(f"> {number_format(breaks[-1])}")
    return [(_css(colour), label) for colour, label in zip(colours, labels, strict=True)]


def legend_html(title: str, entries: Sequence[tuple[str, str]], *, masked_label: str | None = None,
                marked_label: str | None = None) -> str:
    """A compact HTML legend: one swatch and label per class, the masked class, then the marked hotspot."""
    items = [(f"background:{colour}", label) for colour, label in entries]
    if masked_label:
        items.append((f"background:{_css(MASKED_COLOUR)}", masked_label))
    if marked_label:
        items.append((f"border:3px solid {_css(MARKED_COLOUR)};box-sizing:border-box", marked_label))
    swatches = "".join(
        f'<span style="display:inline-flex;align-items:center;margin-right:0.8em;white-space:nowrap">'
        f'<span style="width:1em;height:1em;border:1px solid #888;display:inline-block;margin-right:0.3em;'
        f'{style}"></span>{escape(label, quote=False)}</span>'
        for style, label in items
    )
    return (f'<div data-testid="risk-legend" role="figure" aria-label="Légende"><b>{escape(title, quote=False)}</b><br>'
            f'{swatches}</div>')


def _css(colour: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*colour)
