"""Severity model: for an incident a caller describes, how likely someone is killed or hospitalised.

What it estimates
-----------------
For an incident described by a caller (:mod:`core.features`), the probability
that someone is killed or hospitalised (``p_severe``), that someone is killed
(``p_fatal``), and the distribution of the worst injury. Two XGBoost boosters
(``severity.ubj`` for severe, ``severity_fatal.ubj`` for fatal) are followed by
isotonic calibration maps stored as JSON numbers in the card.

Modules
-------
Import each name from the module that holds it:

- :mod:`core.model.spec`: file names, version, years, targets and their settings,
  the errors: what training writes and loading checks;
- :mod:`core.model.card`: the model card as frozen dataclasses, checked entry by
  entry when read (:func:`~core.model.card.parse_card`); its figures (metrics,
  thresholds, bands) in :mod:`core.model.card_figures`, the reading of JSON into
  dataclasses in :mod:`core.model.typed_json`;
- :mod:`core.model.metrics`: discrimination and calibration figures, alert
  thresholds, isotonic calibration;
- :mod:`core.model.fitting`: the validation protocol (masking, cross-fit, start year);
- :mod:`core.model.train`: :func:`~core.model.train.train`, the test-year figures and the card;
- :mod:`core.model.trees`: the boosters as flat arrays walked with numpy;
- :mod:`core.model.loading`: :class:`~core.model.loading.SeverityModel` and
  :func:`~core.model.loading.load_model`;
- :mod:`core.model.explain`: the top factors of an estimate, in French words (field values in
  words: :mod:`core.features.words`);
- :mod:`core.model.predict`: :func:`~core.model.predict.predict_one`,
  :func:`~core.model.predict.predict_many` and friends;
- :mod:`core.model.risk_bands`: the three risk bands and their cut-offs from the card;
- :mod:`core.model.report`: the card in French tables, a calibration figure and
  the model's limits for the model page, and as text for the command line.

This package imports nothing itself, so ``import core.model.predict`` loads no
training code.
"""
