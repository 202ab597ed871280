"""Literal model cards for the tests: the committed card with round figures put in, read like the real one."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from core import config
from core.model.card import ModelCard, parse_card
from core.model.spec import CARD_FILE

#: What the band words read, with round figures (not the committed model's).
LITERAL_CARD: dict[str, Any] = {
    "years": {"validation": 2019},
    "thresholds": {"severe": {
        "best_f1": {"threshold": 0.396, "flagged_share": 0.41, "precision": 0.68, "recall": 0.77},
        "recall_80": {"threshold": 0.328, "flagged_share": 0.45, "precision": 0.65, "recall": 0.80},
        "recall_95": {"threshold": 0.1834, "flagged_share": 0.7, "precision": 0.49, "recall": 0.95},
        "precision_75": {"threshold": 0.6125, "flagged_share": 0.2, "precision": 0.79, "recall": 0.44},
    }},
    "bands": {"medium_from": {"threshold": 0.1834}, "high_from": {"threshold": 0.6125},
              "validation": {"year": 2019,
                             "low": {"to": 0.1834, "share": 0.30, "observed": 0.061, "share_of_positives": 0.05},
                             "medium": {"from": 0.1834, "to": 0.6125, "share": 0.50, "observed": 0.366,
                                        "share_of_positives": 0.51},
                             "high": {"from": 0.6125, "share": 0.20, "observed": 0.792, "share_of_positives": 0.44}}},
}


def committed_card_json() -> dict[str, Any]:
    """The committed card as ``json.loads`` reads it (a fresh copy to change)."""
    return json.loads((config.MODELS_DIR / CARD_FILE).read_text())


def _merge(into: dict[str, Any], changes: Mapping[str, Any]) -> None:
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = json.loads(json.dumps(value))


def literal_card_json(*changes: Mapping[str, Any]) -> dict[str, Any]:
    """The committed card's JSON with :data:`LITERAL_CARD` and then each of ``changes`` merged in, key by key."""
    raw = committed_card_json()
    for change in (LITERAL_CARD, *changes):
        _merge(raw, change)
    return raw


def literal_card(*changes: Mapping[str, Any]) -> ModelCard:
    """:func:`literal_card_json` read and checked like the committed card."""
    return parse_card(literal_card_json(*changes), source="a literal card")
