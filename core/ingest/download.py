"""Download official BAAC yearly files from data.gouv.fr, over HTTPS only.

data.gouv.fr serves each file under an opaque resource URL, so the dataset's
catalogue (its API) is read first and the four tables of each asked year are
picked by file name. The catalogue is remote data: an address it gives is
followed only if it is ``https://`` (a ``file://`` one would copy a local file
into the raw folder, an ``http://`` one could be altered on the way), and so is
every redirection. The base URL and the TLS context can be pointed at a local
server for tests.
"""

from __future__ import annotations

import json
import shutil
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from email.message import Message
from pathlib import Path
from typing import IO

from core.ingest.errors import IngestRefused
from core.ingest.layouts import parse_file_name

DEFAULT_BASE_URL = "https://www.data.gouv.fr"
DATASET = "bases-de-donnees-annuelles-des-accidents-corporels-de-la-circulation-routiere-annees-de-2005-a-2024"
CATALOGUE_PATH = f"/api/1/datasets/{DATASET}/"
TIMEOUT_S = 60


def require_https(url: str, what: str) -> str:
    """Return ``url`` if it is an ``https://`` address with a host, else refuse it.

    Examples
    --------
    >>> require_https("https://www.data.gouv.fr/x.csv", "ressource")
    'https://www.data.gouv.fr/x.csv'
    >>> require_https("file:///etc/passwd", "ressource")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    core.ingest.errors.IngestRefused: ressource : adresse 'file:///etc/passwd' refusée, seules ... https:// ...
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise IngestRefused(f"{what} : adresse {url!r} refusée, seules les adresses https:// sont acceptées ; "
                            "rien n'a été téléchargé")
    return url


class _HttpsOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirection only to another ``https://`` address."""

    def redirect_request(
        self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str, headers: Message, newurl: str
    ) -> urllib.request.Request | None:
        require_https(urllib.parse.urljoin(req.full_url, newurl), f"redirection de {req.full_url}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _opener(context: ssl.SSLContext | None) -> urllib.request.OpenerDirector:
    """An opener that knows HTTPS only: no file, ftp, data or plain http handler at all."""
    opener = urllib.request.OpenerDirector()
    for handler in (urllib.request.HTTPSHandler(context=context), _HttpsOnlyRedirects(),
                    urllib.request.HTTPDefaultErrorHandler(), urllib.request.HTTPErrorProcessor()):
        opener.add_handler(handler)
    return opener


def list_resources(base_url: str, *, context: ssl.SSLContext | None = None) -> list[tuple[str, str]]:
    """(file name, url) of every CSV resource in the dataset catalogue."""
    url = require_https(base_url.rstrip("/") + CATALOGUE_PATH, "catalogue")
    try:
        with _opener(context).open(url, timeout=TIMEOUT_S) as response:
            catalogue = json.load(response)
    except IngestRefused:
        raise
    except (urllib.error.URLError, OSError) as error:
        raise IngestRefused(f"catalogue {url} injoignable : {_reason(error)} ; rien n'a été téléchargé") from error
    except ValueError as error:
        raise IngestRefused(f"catalogue {url} illisible (JSON attendu) ; rien n'a été téléchargé") from error
    found = []
    for resource in catalogue.get("resources", []) if isinstance(catalogue, dict) else []:
        url = str(resource.get("url") or "")
        name = str(resource.get("title") or url.rsplit("/", 1)[-1]).strip()
        if parse_file_name(Path(name).name):  # the file is saved under this name, for the folder reader
            found.append((name, url))
    return found


def download_years(
    years: Sequence[int], raw_dir: Path, *, base_url: str | None = None, context: ssl.SSLContext | None = None
) -> list[Path]:
    """Fetch the yearly files of ``years`` into ``raw_dir/YEAR/`` and return those folders.

    Every address is checked before the first file is fetched, so a refused
    catalogue fetches nothing. Each file is written to a ``.part`` name and
    renamed when complete.

    Parameters
    ----------
    years
        The years asked for (``--download``).
    raw_dir
        Folder receiving one sub-folder per year.
    base_url
        Catalogue host (default data.gouv.fr); ``https://`` only.
    context
        TLS context (default: the system's, certificates verified); tests pass
        one trusting their local server's certificate.

    Raises
    ------
    IngestRefused
        When an address is not ``https://``, a server cannot be reached, or the
        catalogue has no file for one of the years.
    """
    base = require_https(base_url or DEFAULT_BASE_URL, "catalogue")
    resources = list_resources(base, context=context)
    chosen: dict[int, list[tuple[str, str]]] = {}
    for year in years:
        chosen[year] = [(n, u) for n, u in resources if (f := parse_file_name(Path(n).name)) and f[1] == year]
        if not chosen[year]:
            raise IngestRefused(f"le catalogue de data.gouv.fr ne liste aucun fichier BAAC pour {year}")
        for name, url in chosen[year]:
            require_https(url, f"ressource {name} du catalogue")
    raw_dir = Path(raw_dir)
    opener = _opener(context)
    for year, files in chosen.items():
        for name, url in files:
            target = raw_dir / str(year) / Path(name).name
            target.parent.mkdir(parents=True, exist_ok=True)
            _fetch(opener, url, target)
    return [raw_dir / str(year) for year in years]


def _fetch(opener: urllib.request.OpenerDirector, url: str, target: Path) -> None:
    partial = target.with_suffix(".part")
    try:
        with opener.open(url, timeout=TIMEOUT_S) as response, open(partial, "wb") as out:
            shutil.copyfileobj(response, out)
    except (urllib.error.URLError, OSError) as error:
        partial.unlink(missing_ok=True)
        raise IngestRefused(f"téléchargement de {url} impossible : {_reason(error)}") from error
    partial.replace(target)


def _reason(error: Exception) -> str:
    return str(getattr(error, "reason", None) or error)
