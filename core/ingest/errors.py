"""The one error an ingest refuses a source with.

A refused source is never partly used: the run stops before the store is
touched, the command line prints the message (one French line naming the file,
the column or the year at fault and what was expected) and exits with status 2.
"""

from __future__ import annotations


class IngestRefused(ValueError):
    """A source, file or download the ingest will not use; the message is one French line."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))
