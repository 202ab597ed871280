"""What the routes of one API worker share: settings, keys, rate limiter, audit log, metrics and the model."""

from __future__ import annotations

import gc

from core.api.audit import AuditLog
from core.api.errors import ApiError
from core.api.keys import KeyRing
from core.api.limits import RateLimiter
from core.api.metrics import ApiMetrics
from core.api.service import ModelService, Served
from core.api.settings import ApiSettings
from core.ecall import locate


class ApiState:
    """One worker's shared objects, built by :func:`core.api.app.create_app`."""

    def __init__(self, settings: ApiSettings) -> None:
        self.settings = settings
        self.keys = KeyRing(settings.keys_file)
        self.limiter = RateLimiter()
        self.audit = AuditLog(settings.audit_file, max_bytes=settings.audit_max_bytes,
                              backups=settings.audit_backups)
        self.metrics = ApiMetrics()
        # the stamp that tells the other workers to reload sits beside the audit log: per host and writable,
        # whereas the keys file may be deployed read-only
        self.service = ModelService(settings.models_dir, settings.audit_file.with_name("model-reload.stamp"))

    def served(self) -> Served:
        """The model in service (following another worker's reload), or 503 while there is none."""
        served = self.service.current()
        if served is None:
            raise ApiError(503, "model", f"aucun modèle en service : {self.service.error or 'chargement en cours'}")
        self.metrics.serving(served.version)
        return served

    def start(self) -> None:
        """Load the model (a failure leaves the worker up and ``/readyz`` at 503, saying why) and the eCall places."""
        self.service.start()
        locate.warm_up()
        if self.service.served is not None:
            self.metrics.serving(self.service.served.version)
        # Everything loaded so far lives as long as the worker: moved out of the collector's sight, so that its
        # full collections no longer walk the model's and the place tables' objects (fewer slow answers).
        gc.collect()
        gc.freeze()

    def close(self) -> None:
        """Close the audit log."""
        self.audit.close()
