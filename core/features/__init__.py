"""Incident -> model features: one builder for training rows and for a single call.

Why a package of its own
------------------------
A dispatcher's estimate must be computed from exactly what a caller can say,
and computed the same way as during training, otherwise the model sees at
prediction time a world it was never shown. So there is one canonical
"incident" representation (columns of plain codes with NaN for "unknown") and
one function turning it into the float32 feature matrix; a call (JSON) and the
store (SQL) each have a small adapter into those columns.

Modules (import each name from the module that holds it; this file imports nothing):

- :mod:`core.features.names`: the feature names, their source fields, the history levels and vehicle kinds;
- :mod:`core.features.columns`: ``IncidentColumns`` and the adapter from parsed incidents and store frames;
- :mod:`core.features.training`: the store's accidents as incidents with their outcomes (``training_frame``),
  and ``incident_from_row``, the caller JSON of a store row that tests and benchmarks use as an oracle;
- :mod:`core.features.history`: ``PlaceHistory``, the past accidents of each place, built, saved and looked up;
- :mod:`core.features.build`: ``build_features``, the feature matrix;
- :mod:`core.features.facts`: the key facts that define "accidents like this one";
- :mod:`core.features.words`: an incident's fields in French words, for the reasons and the dispatch desk.
"""
