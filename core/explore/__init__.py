"""Everything the explorer page asks of the store, and the figures it draws (no Streamlit).

Callers import the modules:

- :mod:`~core.explore.counts`: the headline figures, counts by date
  (:func:`~core.explore.counts.calendar`) and by department, and the query runner;
- :mod:`~core.explore.periods`: the chosen period against the previous one,
  yearly counts, and the headline's French texts;
- :mod:`~core.explore.departments`: department outlines, the map frame and table;
- :mod:`~core.explore.breakdowns`: people by category and severity, vehicles by group;
- :mod:`~core.explore.points`: the accidents drawn on the map, and how many are located;
- :mod:`~core.explore.table`: one page of the accidents table;
- :mod:`~core.explore.export`: the CSV or Parquet export;
- :mod:`~core.explore.charts`, :mod:`~core.explore.choropleth`,
  :mod:`~core.explore.accidents_map`: the plotly figures and the folium map.

The store's ``accidents`` table they all read is defined in :mod:`core.accidents_table`.
"""
