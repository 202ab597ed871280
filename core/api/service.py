"""The model in service in one API worker: loaded and warmed up once, reloaded on an admin's request.

Why a module of its own
-----------------------
Each worker holds its own copy of the model (workers share nothing but
files). An admin's reload (``POST /v1/model/reload``) loads the model of
``models/`` in the worker that gets it, in a thread (requests go on with the
old model meanwhile), checking it as the page and the CLI do
(:func:`core.model.loading.load_model`), and then touches a stamp file; the
other workers watch the stamp once a second (:meth:`ModelService.follow`) and
reload too, also in a thread. A model
that fails its checks is refused and the one in service stays.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool

from core.dispatch.bands import band_rule_text
from core.model.loading import SeverityModel, load_model
from core.model.predict import warm_up
from core.model.risk_bands import BANDS, BandThresholds, band_thresholds


@dataclass(frozen=True)
class Served:
    """A loaded model and its band cut-offs, swapped as one."""

    model: SeverityModel
    thresholds: BandThresholds

    @property
    def version(self) -> str:
        """The card's ``model_version``."""
        return self.model.version

    @functools.cached_property
    def summary(self) -> dict[str, Any]:
        """:func:`model_summary` of this model, computed once."""
        return model_summary(self)


def load_served(models_dir: Path) -> Served:
    """Load, check and warm up the model of ``models_dir`` (raises as :func:`load_model` does)."""
    model = load_model(models_dir)
    warm_up(model, batches=True)
    return Served(model, band_thresholds(model.card))


class ModelService:
    """The model this worker serves, following the reloads asked of any worker (through ``stamp``)."""

    def __init__(self, models_dir: Path, stamp: Path, *, check_every: float = 1.0) -> None:
        self.models_dir = Path(models_dir)
        self.stamp = Path(stamp)
        self.check_every = check_every
        self.served: Served | None = None
        self.error: str | None = None
        self._seen = self._stamp_time()

    def _stamp_time(self) -> int:
        try:
            return self.stamp.stat().st_mtime_ns
        except FileNotFoundError:
            return 0

    def start(self) -> None:
        """Load the model at start-up; a failure is kept in ``error`` (``/readyz`` says it) instead of raising.

        A model already loaded (a second lifespan in the same process) is kept.
        """
        if self.served is not None:
            return
        try:
            self.served = load_served(self.models_dir)
            self.error = None
        except (FileNotFoundError, ValueError) as error:
            self.error = str(error)

    def reload(self) -> Served:
        """Load the model of ``models_dir`` here and tell the other workers; raises and keeps the old one on failure.

        Blocking (a fraction of a second to a few seconds): the API calls it in a thread.
        """
        served = load_served(self.models_dir)
        self.served, self.error = served, None
        self.stamp.parent.mkdir(parents=True, exist_ok=True)
        self.stamp.write_text(f"{served.version} {time.time():.3f} {os.getpid()}\n")
        self._seen = self._stamp_time()
        return served

    def current(self) -> Served | None:
        """The model in service (None while there is none)."""
        return self.served

    async def follow(self) -> None:
        """Reload, in a thread, when another worker touched the stamp; runs until cancelled."""
        while True:
            await asyncio.sleep(self.check_every)
            seen = self._stamp_time()
            if seen == self._seen:
                continue
            self._seen = seen
            try:
                self.served = await run_in_threadpool(load_served, self.models_dir)
                self.error = None
            except (FileNotFoundError, ValueError) as error:
                self.error = f"rechargement refusé, le modèle précédent reste en service : {error}"


def model_summary(served: Served) -> dict[str, Any]:
    """What ``GET /v1/model`` answers: version, years, test-year and validation metrics, bands.

    Examples
    --------
    >>> from core.model.risk_bands import band_thresholds
    >>> summary = model_summary(Served(model, band_thresholds(model.card)))
    >>> summary["years"]["test"], [band["key"] for band in summary["bands"]]
    (2020, ['low', 'medium', 'high'])
    """
    card, thresholds = served.model.card, served.thresholds
    cuts = {"low": (0.0, thresholds.medium_from), "medium": (thresholds.medium_from, thresholds.high_from),
            "high": (thresholds.high_from, 1.0)}
    test, validation = card.metrics.test, card.metrics.validation

    def figures(metrics: Any) -> dict[str, Any]:
        return {target: dataclasses.asdict(getattr(metrics, target)) for target in ("severe", "fatal")}

    return {
        "model_version": card.model_version,
        "registry": served.model.registry,
        "created": card.created,
        "years": {"history": list(card.years.history), "training": list(card.years.training),
                  "training_fatal": list(card.years.training_fatal), "validation": card.years.validation,
                  "test": card.years.test},
        "inputs": list(card.inputs),
        "metrics": {"test": {"year": test.year, **figures(test)},
                    "validation": {"year": validation.year, **figures(validation)}},
        "bands": [{"key": key, "label": BANDS[key].label, "from": low, "to": high}
                  for key, (low, high) in cuts.items()],
        "band_rule": band_rule_text(card),
    }
