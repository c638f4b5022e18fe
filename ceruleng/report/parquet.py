"""Results as Parquet: a folder of six tables with a fixed schema, loadable as they are by DuckDB, Spark, pandas.

Input: `MemberResult`s one at a time (with their documents, for titles). Output, in the folder `-o` names:
`credentials.parquet`, `activities.parquet`, `categories.parquet`, `minimums.parquet`, `limits.parquet` and
`entries.parquet` — the rows of `report.rows`, joined on (member_index, credential_index). Types are fixed
whatever the specs: credits and money `decimal128(38, 6)` (exact; every spec's precision fits six places), dates
`date32`, counts `int64`, flags `bool`, text `string` (UTF-8; a lone surrogate from a JSON input becomes U+FFFD).
Rows are written in batches as members pass, so memory stays flat. Needs the `parquet` extra (pyarrow).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import IO, Any, ClassVar

import pyarrow as pa
import pyarrow.parquet as pq

from ceruleng.errors import InputError
from ceruleng.report.cells import encodable
from ceruleng.report.rows import COLUMNS, to_rows
from ceruleng.report.writers import Render, ReportOptions, Writer
from ceruleng.scoring.results import MemberResult

DECIMAL = pa.decimal128(38, 6)
"""Every credit, total and fee: 32 digits before the point and 6 after, exact."""
KINDS = {"int": pa.int64(), "str": pa.string(), "bool": pa.bool_(), "date": pa.date32(), "decimal": DECIMAL}
BATCH_ROWS = 16_384
"""Rows of one table gathered before they are written (a row group's worth, a few MB at most)."""


def schema(table: str) -> pa.Schema:
    """The fixed schema of one table."""
    return pa.schema([pa.field(name, KINDS[kind]) for name, kind in COLUMNS[table]],
                     metadata={"ceruleng.table": table})


def _unsupported(result: MemberResult, document: Any = None) -> str:
    raise NotImplementedError("Parquet tables are written by the writer itself, one member at a time")


class ParquetWriter(Writer):
    """Writes the six tables into a folder (the CLI hands it a fresh temporary one, renamed when complete)."""

    output: ClassVar[str] = "folder"
    blocks: ClassVar[bool] = False

    def __init__(self, target: IO[str] | Path, as_of: date, version: str,
                 options: ReportOptions | None = None) -> None:
        if not isinstance(target, Path):
            raise InputError("--format parquet writes a folder of tables; name it with -o FOLDER")
        import io

        super().__init__(io.StringIO(), as_of, version, options)
        metadata = {"ceruleng.version": version, "ceruleng.as_of": as_of.isoformat()}
        self.files = {table: pq.ParquetWriter(target / f"{table}.parquet", schema(table).with_metadata(
            {**schema(table).metadata, **{k.encode(): v.encode() for k, v in metadata.items()}}))
            for table in COLUMNS}
        self.pending: dict[str, list[dict[str, Any]]] = {table: [] for table in COLUMNS}

    def renderer(self) -> Render:
        return _unsupported

    def write(self, result: MemberResult, document: Any = None) -> None:
        self.summary.add(result)
        rows = to_rows(result, document, self.summary.members - 1)
        for table, found in rows.tables().items():
            pending = self.pending[table]
            pending.extend(found)
            if len(pending) >= BATCH_ROWS:
                self._flush(table)

    def _flush(self, table: str) -> None:
        pending = self.pending[table]
        if not pending:
            return
        columns = {name: [_value(row[name], kind) for row in pending] for name, kind in COLUMNS[table]}
        try:
            batch = pa.record_batch([pa.array(values, KINDS[kind]) for (name, kind), values
                                     in zip(COLUMNS[table], columns.values(), strict=True)], schema=schema(table))
        except (pa.ArrowInvalid, OverflowError) as exc:
            raise InputError(f"a value does not fit the Parquet schema of {table}: {exc}") from None
        self.files[table].write_batch(batch)
        pending.clear()

    def close(self) -> None:
        for table, file in self.files.items():
            self._flush(table)
            file.close()


def _value(value: Any, kind: str) -> Any:
    return encodable(value) if kind == "str" and isinstance(value, str) else value
