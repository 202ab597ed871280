"""The real app served by Streamlit on a free port, and Debian's Chromium: shared by the e2e tests and the benches.

The browser is the system Chromium (``/usr/bin/chromium``, installed by
``make test``); Playwright never downloads one.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from core import config

CHROMIUM: Final = "/usr/bin/chromium"
CHROMIUM_ARGS: Final = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run",
]
STARTUP_TIMEOUT_S: Final = 60


def free_port() -> int:
    """A TCP port free on the loopback interface now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve_app(*, log_name: str | None = None) -> Iterator[str]:
    """Run ``streamlit run app.py`` on a free port; yield its base URL once ``/_stcore/health`` answers.

    The server's output goes to ``$TMPDIR/gravite-streamlit-PORT.log`` (or ``log_name`` there).
    """
    port = free_port()
    log_path = Path(os.environ.get("TMPDIR", "/tmp")) / (log_name or f"gravite-streamlit-{port}.log")
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(config.ROOT / "app.py"),
             "--server.port", str(port), "--server.headless", "true",
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=config.ROOT, stdout=log, stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT_S
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"Streamlit did not start; see {log_path}")
                time.sleep(0.5)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def block_outside(page: object, base_url: str) -> list[str]:
    """Make every request off ``base_url`` fail, as on a machine without internet; returns the list they land in."""
    outside: list[str] = []

    def only_local(route) -> None:
        if route.request.url.startswith(base_url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    return outside


SETTLED_JS: Final = """() => {
    const app = document.querySelector('[data-testid=stApp]');
    return app !== null && app.getAttribute('data-test-script-state') === 'notRunning'
        && document.querySelector('[data-stale=true]') === null;
}"""


def settle(page: object, timeout_ms: float) -> None:
    """Wait until the app's script has finished its run and no element is left stale from the one before.

    Call it once something the run draws is on screen (so the run has begun): reading the page earlier, on a
    busy machine, reads widgets the run has not redrawn yet.
    """
    page.wait_for_function(SETTLED_JS, timeout=timeout_ms)
