"""Maps drawn by deck.gl through ``st.pydeck_chart``, built as JSON without Streamlit.

- :mod:`core.maps.deck`: the spec written once as JSON (:class:`~core.maps.deck.DeckJson`,
  a ``pydeck.Deck`` whose ``to_json`` returns it), compact rows, the
  department outlines layer and file;
- :mod:`core.maps.hexagons`: the risk map's deck, hexagon rows, tooltip and
  outlined hotspot;
- :mod:`core.maps.legend`: colour classes, palettes and the HTML legend;
- :mod:`core.maps.views`: views fitted to a box, a cell or departments, and
  the box a view shows;
- :mod:`core.maps.options`: the risk map's options (metric, condition,
  resolution, view...) and their link parameters;
- :mod:`core.maps.outlines`: the step that rebuilds the light outlines shipped
  in ``assets/`` (``python -m core.maps.outlines``);
- :mod:`core.maps.towns`: the town names of maps without tiles, their zoom
  tiers, the deck.gl text layer, and the step that rebuilds
  ``assets/ref/towns.csv`` from the store (``python -m core.maps.towns``);
- :mod:`core.maps.basemap`: the same base for Leaflet (the explorer's folium
  map): outlines, town labels by zoom, a notice when the tiles fail.
"""
