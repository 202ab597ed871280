"""``python -m core serve``: the API on uvicorn, one or several workers, with a development key if none exists.

Why a module of its own
-----------------------
The settings reach each worker through the environment
(:meth:`core.api.settings.ApiSettings.to_env`), and several workers share
their metrics through a fresh ``PROMETHEUS_MULTIPROC_DIR``; both must be set
before uvicorn starts the workers, here.
"""

from __future__ import annotations

import os
import shutil
import sys
from typing import Final

from core.api.keys import create_key, read_keys
from core.api.settings import ApiSettings

#: Name of the key ``make api`` creates when there is none.
DEV_KEY_NAME: Final = "dev"
#: Seconds an idle keep-alive connection stays open, and a worker has to finish its requests at shutdown.
KEEP_ALIVE: Final = 5
GRACEFUL: Final = 10
#: Connections served at once by one worker; beyond, uvicorn answers 503 at once instead of queueing.
MAX_CONNECTIONS: Final = 512


def development_key(settings: ApiSettings) -> str | None:
    """Create an admin key named ``dev`` when no key exists at all, and return it (else None)."""
    if read_keys(settings.keys_file):
        return None
    return create_key(settings.keys_file, DEV_KEY_NAME, "admin")


def serve(settings: ApiSettings, *, host: str, port: int, workers: int, dev_key: bool) -> None:
    """Run the API until interrupted."""
    import uvicorn

    if dev_key:
        key = development_key(settings)
        if key is not None:
            print(f"Clé de développement (rôle admin), affichée une seule fois :\n  {key}\n"
                  f"Pour la production, créez des clés nommées (python -m core keys create) et révoquez "
                  f"celle-ci (python -m core keys revoke {DEV_KEY_NAME}).", file=sys.stderr)
    os.environ.update(settings.to_env())
    if workers > 1:
        shared = settings.keys_file.parent / "metrics"
        shutil.rmtree(shared, ignore_errors=True)
        shared.mkdir(parents=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(shared)
    else:
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    uvicorn.run("core.api.app:create_app", factory=True, host=host, port=port, workers=workers,
                timeout_keep_alive=KEEP_ALIVE, timeout_graceful_shutdown=GRACEFUL, limit_concurrency=MAX_CONNECTIONS,
                access_log=False, server_header=False, proxy_headers=False)
