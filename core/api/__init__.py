"""The severity API for dispatch software: FastAPI on uvicorn, the same prediction path as the CLI.

Why this package exists
-----------------------
Dispatch centres run their own call-handling software and need the estimate
from a machine interface. This package serves :func:`core.model.predict.predict_many`
answers (shaped by :func:`core.dispatch.answer.machine_answer`, exactly as
``python -m core predict``) over HTTP, with what a shared service needs
around them, one concern per module:

- :mod:`core.api.settings`: limits, paths and rates, from the environment;
- :mod:`core.api.keys`: API keys (only their hash stored) and roles;
- :mod:`core.api.limits`: the per-key rate limit;
- :mod:`core.api.audit`: one JSON line per request, rotated by size;
- :mod:`core.api.metrics`: Prometheus counters and latency histogram;
- :mod:`core.api.service`: the loaded model and its reload across workers;
- :mod:`core.api.docs`: the response schemas and examples of the OpenAPI document;
- :mod:`core.api.app`: the routes;
- :mod:`core.api.serve`: ``python -m core serve`` (uvicorn, workers, development key).

Import each name from the module that holds it; this file imports nothing.
"""
