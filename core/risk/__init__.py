"""Hexagon risk for the SAMU planners' map: counts per H3 cell, shrunk severity rates, relative risk.

Modules, from the data up to what the page shows:

- :mod:`core.risk.choices`: what a map can show (metrics, conditions, H3
  resolutions and their edge lengths) and the resolution an extent calls for;
- :mod:`core.risk.facts`: the located accidents as numpy arrays
  (:class:`~core.risk.facts.HexFacts`), and :mod:`core.risk.loading` that
  reads them from the store once per server;
- :mod:`core.risk.masks`: which of those accidents a filter, an extent or a
  condition keeps;
- :mod:`core.risk.counts`: counts per cell (accidents, severe, fatal, under a
  condition, most frequent weather and light, per-year sums);
- :mod:`core.risk.scoring`: empirical-Bayes severity rates with their
  intervals, relative risks;
- :mod:`core.risk.hexes`: one map, filter and options in, scored hexagons out
  (:func:`~core.risk.hexes.hex_risk`), as a :class:`~core.risk.result.HexRisk`;
- :mod:`core.risk.hotspots`: the top cells and their table;
- :mod:`core.risk.profile`: when the map's accidents happen (hour × weekday,
  month), for the view or one hexagon, and :mod:`core.risk.profile_charts`
  that draws it;
- :mod:`core.risk.texts`: the French sentences about a map (why it is empty or
  meaningless, what its averages span);
- :mod:`core.risk.export`: CSV and GeoJSON of the hexagons.
"""
