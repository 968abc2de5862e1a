"""Writing datapoints as a parquet (exact LCA features in the schema metadata) or JSON Lines file."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from lca_core.api.errors import RunError

#: rows per parquet row group (snapshots make rows large: keep groups small, as the sample does)
ROW_GROUP = 8


def write_datapoints(datapoints: Iterable[dict], out: Path) -> int:
    """Stream ``datapoints`` into ``out`` (.parquet or .jsonl); returns how many were written."""
    out = Path(out)
    if out.suffix not in (".parquet", ".jsonl"):
        raise RunError(f"--out '{out}' must end in .parquet or .jsonl")
    out.parent.mkdir(parents=True, exist_ok=True)
    # one partial file per process: two runs building the same cached dataset at once must not
    # write into (or rename away) each other's file; the last rename wins with an equal file
    partial = out.with_name(f".{out.name}.{os.getpid()}.partial")
    try:
        count = _write_parquet(datapoints, partial) if out.suffix == ".parquet" else _write_jsonl(datapoints, partial)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return count


def _write_jsonl(datapoints: Iterable[dict], path: Path) -> int:
    count = 0
    with path.open("w", encoding="utf-8") as f:
        for datapoint in datapoints:
            f.write(json.dumps(datapoint, ensure_ascii=False) + "\n")
            count += 1
    return count


def _write_parquet(datapoints: Iterable[dict], path: Path) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from lca_core.data.schema import arrow_schema

    schema = arrow_schema()  # carries the `huggingface` features metadata, as the public files do
    count, rows = 0, []
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for datapoint in datapoints:
            rows.append(datapoint)
            if len(rows) == ROW_GROUP:
                writer.write_table(pa.Table.from_pylist(rows, schema=schema))
                count, rows = count + len(rows), []
        if rows or not count:
            writer.write_table(pa.Table.from_pylist(rows, schema=schema))
            count += len(rows)
    return count
