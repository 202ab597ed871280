"""Prometheus metrics of the API: requests by route and status, latency, incidents, model in service.

Why a module of its own
-----------------------
One worker answers each scrape of ``/metrics``, so with several workers the
figures must be the sum of all of them: ``python -m core serve --workers N``
sets ``PROMETHEUS_MULTIPROC_DIR`` (a fresh folder under ``data/api/``) before
the workers start, and :meth:`ApiMetrics.render` then reads every worker's
figures through prometheus_client's multiprocess collector. A single process
(tests, one worker) keeps them in its own registry.
"""

from __future__ import annotations

import os
from typing import Final

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

#: The ``Content-Type`` of the metrics page.
CONTENT_TYPE: Final = CONTENT_TYPE_LATEST
#: Latency buckets (seconds): a single estimate takes about a millisecond, a batch of 1,000 tens of them.
_BUCKETS: Final = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


def multiprocess() -> bool:
    """Whether the figures are shared between worker processes."""
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


class ApiMetrics:
    """The API's counters, histogram and model gauge, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("gravite_api_requests", "Requêtes reçues, par route, méthode et statut HTTP",
                                ("route", "method", "status"), registry=self.registry)
        self.latency = Histogram("gravite_api_request_seconds", "Durée de traitement des requêtes (secondes)",
                                 ("route",), buckets=_BUCKETS, registry=self.registry)
        self.incidents = Counter("gravite_api_incidents", "Incidents reçus : estimés ou refusés (erreur)",
                                 ("outcome",), registry=self.registry)
        self.model = Gauge("gravite_api_model_info", "Version du modèle en service (1) ou retirée (0)",
                           ("version",), registry=self.registry, multiprocess_mode="livemax")
        self.audit_failures = Counter("gravite_api_audit_failures", "Lignes du journal d’audit non écrites",
                                      registry=self.registry)
        self._version: str | None = None

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one request and its latency."""
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def count_incidents(self, predicted: int, refused: int) -> None:
        """Count the incidents of one request."""
        if predicted:
            self.incidents.labels("predicted").inc(predicted)
        if refused:
            self.incidents.labels("refused").inc(refused)

    def serving(self, version: str) -> None:
        """Mark ``version`` as the model in service (the previous one as retired)."""
        if self._version == version:
            return
        if self._version is not None:
            self.model.labels(self._version).set(0)
        self.model.labels(version).set(1)
        self._version = version

    def render(self) -> bytes:
        """The metrics page, in Prometheus text format (every worker's figures summed when shared)."""
        if multiprocess():
            registry = CollectorRegistry()
            MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)
