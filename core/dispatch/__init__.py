"""The dispatch desk: from what a caller says to an estimate an operator reads in two seconds.

Why this package exists
-----------------------
:mod:`core.model` answers with numbers (probabilities, signed contributions, a
support count). An operator on a call needs those numbers turned into a few
words and one decision: a band (low / medium / high) whose thresholds come from
the model card, "of 100 past accidents like this one, N had a killed or
hospitalised victim", a warning when the comparison rests on little, and the
most similar past accidents near the place. This package does that
translation, one concern per module (none imports Streamlit):

- :mod:`core.dispatch.intake`: the call form's choices and the incident JSON it describes;
- :mod:`core.dispatch.bands`: risk bands, "N out of 100", support warning, factors in words;
- :mod:`core.dispatch.nearby`: the in-memory index of past accidents and the most similar ones near the place;
- :mod:`core.dispatch.session`: the session's estimates as rows and as CSV;
- :mod:`core.dispatch.picker`: the map that picks the place (department, then a cell) and the commune list.

Import each name from the module that holds it; this file imports nothing.
"""
