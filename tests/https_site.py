"""A local HTTPS server standing in for data.gouv.fr, with a certificate made for the test.

Downloads accept only ``https://`` addresses, so their tests need a TLS server:
``trustme`` makes a throw-away certificate authority and a certificate for
127.0.0.1; the server presents it, and the client trusts that authority only
(through the ``context`` given to the download functions, or ``SSL_CERT_FILE``
for a child process). Nothing leaves the machine.
"""

from __future__ import annotations

import functools
import http.server
import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import trustme

from core.ingest import download


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the site's files; ``redirects`` maps a path to the address it redirects to."""

    redirects: dict[str, str] = {}

    def do_GET(self) -> None:
        if self.path in self.redirects:
            self.send_response(302)
            self.send_header("Location", self.redirects[self.path])
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        return


@dataclass
class Site:
    """A running local HTTPS site: its address, files, and how a client can trust it."""

    base: str
    folder: Path
    context: ssl.SSLContext
    ca_file: Path
    redirects: dict[str, str]

    def publish(self, resources: list[dict[str, str]]) -> None:
        """Serve ``resources`` as the dataset catalogue."""
        catalogue = self.folder / download.CATALOGUE_PATH.strip("/")
        catalogue.mkdir(parents=True, exist_ok=True)
        (catalogue / "index.html").write_text(json.dumps({"resources": resources}))

    def publish_files(self, files: list[Path]) -> None:
        """Serve copies of ``files`` under ``/files/`` and list them in the catalogue."""
        served = self.folder / "files"
        served.mkdir(exist_ok=True)
        for path in files:
            (served / path.name).write_bytes(path.read_bytes())
        self.publish([{"title": p.name, "url": f"{self.base}/files/{p.name}"} for p in sorted(files)])


@contextmanager
def https_site(folder: Path) -> Iterator[Site]:
    """Serve ``folder`` over HTTPS on 127.0.0.1 for the duration of the block."""
    folder.mkdir(parents=True, exist_ok=True)
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(server_context)
    redirects: dict[str, str] = {}
    handler = type("Handler", (_Handler,), {"redirects": redirects})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    client_context = ssl.create_default_context()
    authority.configure_trust(client_context)
    ca_file = folder.parent / "test-ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Site(base=f"https://127.0.0.1:{server.server_address[1]}", folder=folder, context=client_context,
                   ca_file=ca_file, redirects=redirects)
    finally:
        server.shutdown()
        server.server_close()
