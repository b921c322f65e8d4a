"""Where drift data comes from: Parquet and CSV files, directories, globs, DVC revisions, profiles.

The only module of the drift feature that reads files. It streams Arrow record
batches of a bounded size (one batch and a short read-ahead in memory, whatever
the row count) and turns every way reading can fail into a
:class:`~mlops_ci.errors.BadInput` that names the file and what was expected.

A *spec* is a path (file or directory) or a glob. With ``rev``, paths are read
from a DVC (or plain git) repository at that revision through
``dvc.api.DVCFileSystem`` — DVC-tracked files come from the cache or remote.

Arrow's readers only ever get Arrow-native files (:meth:`DataSource._arrow_input`),
never a Python file object: the CSV reader reads ahead on Arrow's I/O threads and the
Parquet reader reads on its CPU threads, and with a Python file each of those reads
must take the GIL. A read still queued when the interpreter exits (typically right
after a parse error in a large garbage file) then hangs the process in Arrow's
thread-pool shutdown, or aborts it with "terminate called without an active
exception" (apache/arrow#50482, #33975): 16 of 80 runs on a 20 MB garbage CSV did.
"""

from __future__ import annotations

import functools
import glob as globlib
import os
import re
import shutil
import tempfile
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

import pyarrow as pa

from mlops_ci.errors import BadInput

BATCH_ROWS = 1 << 18
#: Columns a Parquet work unit decodes at a time (see :meth:`DataSource.units`).
UNIT_COLUMNS = 4
CSV_BLOCK = 16 << 20
PARQUET_EXT = (".parquet", ".pq", ".parq")
CSV_EXT = (".csv", ".tsv", ".csv.gz", ".tsv.gz", ".txt")
PROFILE_EXT = (".json", ".json.gz")


@dataclass
class DataSource:
    """A re-iterable stream of record batches (or a stored profile) behind one spec."""

    spec: str
    format: str  # parquet | csv | profile | table
    files: list[str] = field(default_factory=list)
    rev: str | None = None
    repo: str = "."
    csv_encoding: str | None = None
    batch_rows: int = BATCH_ROWS
    table: pa.Table | None = None
    _schema: pa.Schema | None = None
    _fs: Any = None
    #: Local copies of files read at a revision (see :meth:`_arrow_input`), removed with the source.
    _copies: dict[str, str] = field(default_factory=dict)
    _tmpdir: str | None = None

    @property
    def name(self) -> str:
        """How reports name the data: relative to the repository when it lies inside it.

        A runner's checkout path (``/home/runner/_work/...``) or a temp dir means nothing
        to the reader of a PR comment, and it would make the comment differ per runner.
        """
        spec = self.spec
        if os.path.isabs(spec) and self.repo:
            root = os.path.abspath(self.repo)
            if os.path.commonpath([root, os.path.abspath(spec)]) == root:
                spec = os.path.relpath(spec, root)
        return f"{spec}@{self.rev}" if self.rev else spec

    @property
    def is_profile(self) -> bool:
        return self.format == "profile"

    # -- opening ------------------------------------------------------------
    def _filesystem(self) -> Any:
        if self.rev is None:
            return None
        if self._fs is None:
            try:
                from dvc.api import DVCFileSystem
            except ImportError as exc:  # pragma: no cover - dvc is a dependency
                raise BadInput(f"{self.name}: reading at a revision needs the dvc package ({exc})") from None
            try:
                self._fs = DVCFileSystem(self.repo, rev=self.rev)
            except Exception as exc:  # dvc raises many types for a bad repo/rev
                raise BadInput(f"{self.name}: cannot open {self.repo} at revision {self.rev}: {exc}") from None
        return self._fs

    def _open(self, path: str) -> Any:
        fs = self._filesystem()
        try:
            return fs.open(path, "rb") if fs is not None else open(path, "rb")
        except FileNotFoundError:
            raise BadInput(f"{path}: no such file" + (f" at revision {self.rev}" if self.rev else "")) from None
        except Exception as exc:
            raise BadInput(f"{path}: cannot read ({exc})" + (f" at revision {self.rev}" if self.rev else "")) from None

    def read_bytes(self, path: str) -> bytes:
        with self._open(path) as fh:
            return fh.read()

    def _arrow_input(self, path: str, mapped: bool = False) -> pa.NativeFile:
        """``path`` as an Arrow-native input (decompressed for ``.gz``), never a Python file object.

        See the module docstring for why: Arrow's reader threads must not depend on the GIL.
        A file at a revision comes through DVC's (Python) filesystem, so it is first copied,
        in 1 MiB chunks, to a temporary file that lives as long as this source.

        ``mapped`` (Parquet): the file is memory-mapped (still an Arrow-native file), so the
        reader decodes pages straight from the page cache instead of first copying them into its
        buffers with read calls. A file truncated by another process while mapped can end the
        process with SIGBUS: docs/drift.md says not to rewrite data under a running check.
        """
        at = f" at revision {self.rev}" if self.rev else ""
        local = self._local_copy(path) if self.rev is not None else path
        try:
            if mapped and os.path.getsize(local) > 0:  # an empty file cannot be mapped: read, then refused
                return pa.memory_map(local, "r")
            handle = pa.OSFile(local, "rb")
        except FileNotFoundError:
            raise BadInput(f"{path}: no such file{at}") from None
        except OSError as exc:
            raise BadInput(f"{path}: cannot read ({_first_line(exc)}){at}") from None
        if path.endswith(".gz"):
            return pa.CompressedInputStream(handle, "gzip")
        return handle

    def _local_copy(self, path: str) -> str:
        if path not in self._copies:
            if self._tmpdir is None:
                self._tmpdir = tempfile.mkdtemp(prefix="mlops-ci-data-")
                weakref.finalize(self, shutil.rmtree, self._tmpdir, True)
            target = os.path.join(self._tmpdir, f"{len(self._copies)}-{os.path.basename(path)}")
            with self._open(path) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            self._copies[path] = target
        return self._copies[path]

    @property
    def schema(self) -> pa.Schema:
        if self._schema is None:
            if self.format == "table":
                assert self.table is not None
                self._schema = self.table.schema
            elif self.format == "parquet":
                self._schema = self._parquet_schema()
            elif self.format == "csv":
                reader = self._csv_reader(self.files[0], None)
                schema = reader.schema
                reader.close()  # names were checked by _csv_reader
                binary = [f.name for f in schema if pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type)]
                if binary:  # Arrow infers "binary" for text that is not valid UTF-8
                    raise BadInput(f"{self.files[0]}: not UTF-8 text (column {', '.join(binary)})",
                                   hint="Re-encode the file as UTF-8, or name its encoding with --csv-encoding "
                                        "(e.g. latin-1, cp1252).")
                # a column empty in the first block would be typed "null" and fail later: read it as text,
                # marked as a guess: if it never holds a value, drift reports it as all null (like Parquet),
                # not as a string column (a false "double -> string" type change)
                from mlops_ci.drift.builder import UNTYPED_KEY

                self._schema = pa.schema([pa.field(f.name, pa.string(), metadata={UNTYPED_KEY: b"null"})
                                          if pa.types.is_null(f.type) else f for f in schema])
            else:
                raise BadInput(f"{self.name}: a profile has no rows to read")
        return self._schema

    # -- reading ------------------------------------------------------------
    def batches(self, columns: Sequence[str] | None = None) -> Iterator[pa.RecordBatch]:
        cols = list(columns) if columns is not None else None
        if self.format == "table":
            assert self.table is not None
            table = self.table.select(cols) if cols is not None else self.table
            yield from table.to_batches(self.batch_rows)
        elif self.format == "parquet":
            yield from self._parquet_batches(cols)
        elif self.format == "csv":
            for path in self.files:
                yield from self._csv_batches(path, cols)
        else:
            raise BadInput(f"{self.name}: a profile has no rows to read")

    __call__ = batches  # a DataSource is a BatchSource

    def _parquet_file(self, path: str) -> Any:
        # ParquetFile rather than pyarrow.dataset: the latter imports pandas (~0.5 s) for nothing here
        import pyarrow.parquet as pq

        try:
            pf = pq.ParquetFile(self._arrow_input(path, mapped=True), pre_buffer=False, buffer_size=0)
            _check_names(pf.schema_arrow)
        except (pa.ArrowInvalid, OSError) as exc:
            raise BadInput(f"{path}: not readable as Parquet ({_first_line(exc)})",
                           hint="Expected Parquet files (PAR1); pass CSV files with a .csv name.") from None
        except UnicodeDecodeError:
            raise _names_error(path) from None
        return pf

    def _parquet_schema(self) -> pa.Schema:
        schema = self._parquet_file(self.files[0]).schema_arrow
        return pa.schema([f.remove_metadata() for f in schema])

    def _checked_parquet_file(self, path: str) -> Any:
        """The file, refused unless its schema is the dataset's (the first file's)."""
        expected = self.schema
        pf = self._parquet_file(path)
        schema = pa.schema([f.remove_metadata() for f in pf.schema_arrow])
        if not schema.equals(expected):
            diff = sorted({str(f) for f in schema} ^ {str(f) for f in expected})
            raise BadInput(f"{path}: schema differs from {self.files[0]} ({'; '.join(diff[:4])})",
                           hint="All files of a dataset must share one schema.")
        return pf

    def _parquet_batches(self, cols: list[str] | None) -> Iterator[pa.RecordBatch]:
        for path in self.files:
            yield from self._read_parquet(path, self._checked_parquet_file(path), cols, None, use_threads=True)

    def _read_parquet(self, path: str, pf: Any, cols: list[str] | None, row_groups: list[int] | None,
                      use_threads: bool) -> Iterator[pa.RecordBatch]:
        try:
            for batch in pf.iter_batches(batch_size=self.batch_rows, row_groups=row_groups, columns=cols,
                                         use_threads=use_threads, use_pandas_metadata=False):
                if batch.num_rows:
                    yield batch
        except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as exc:
            raise BadInput(f"{path}: cannot read Parquet data ({_first_line(exc)})") from None

    def units(self, columns: Sequence[str] | None = None) -> list[Callable[[], Iterator[pa.RecordBatch]]] | None:
        """Independent units of work, in data order: one per Parquet row group (None for other formats).

        Each unit opens its own Arrow-native file handle (sharing the footer already parsed here)
        and decodes on the calling thread, so a pool of workers spreads decoding over every core
        without one shared reader. The schema of every file is checked here, before any unit runs.

        A unit yields its row group :data:`UNIT_COLUMNS` columns at a time — every batch of the
        first columns, then of the next ones: decoding the 25 columns of the 5M-row benchmark data
        at once took 0.64–1.88 s of CPU and 145 MiB of Arrow memory, 4 at a time 0.55–0.57 s and
        26 MiB (``benchmarks/drift/decode.py``). So a batch from a unit may hold only some of
        ``columns``; the first group always holds ``columns[0]``.
        """
        if self.format != "parquet":
            return None
        import pyarrow.parquet as pq

        cols = list(columns) if columns is not None else list(self.schema.names)
        groups = [cols[i:i + UNIT_COLUMNS] for i in range(0, len(cols), UNIT_COLUMNS)] or [cols]
        out: list[Callable[[], Iterator[pa.RecordBatch]]] = []
        for path in self.files:
            meta = self._checked_parquet_file(path).metadata

            def unit(path: str = path, meta: Any = meta, group: int = 0) -> Iterator[pa.RecordBatch]:
                try:
                    pf = pq.ParquetFile(self._arrow_input(path, mapped=True), metadata=meta, pre_buffer=False,
                                        buffer_size=0)
                except (pa.ArrowInvalid, OSError) as exc:
                    raise BadInput(f"{path}: not readable as Parquet ({_first_line(exc)})") from None
                for names in groups:
                    yield from self._read_parquet(path, pf, names, [group], use_threads=False)

            out += [functools.partial(unit, group=g) for g in range(meta.num_row_groups)]
        return out

    def _csv_reader(self, path: str, cols: list[str] | None) -> Any:
        import pyarrow.csv as pacsv

        read = pacsv.ReadOptions(block_size=CSV_BLOCK, encoding=self.csv_encoding or "utf8")
        parse = pacsv.ParseOptions(delimiter="\t" if path.endswith((".tsv", ".tsv.gz")) else ",")
        types = None
        if self._schema is not None:
            types = {f.name: f.type for f in self._schema}
        convert = pacsv.ConvertOptions(column_types=types, include_columns=cols)
        handle = self._arrow_input(path)
        try:
            reader = pacsv.open_csv(handle, read_options=read, parse_options=parse, convert_options=convert)
        except (pa.ArrowInvalid, UnicodeDecodeError, OSError) as exc:
            handle.close()
            raise _csv_error(path, exc) from None
        try:
            _check_names(reader.schema)
        except UnicodeDecodeError:
            reader.close()
            raise _names_error(path) from None
        return reader

    def _csv_batches(self, path: str, cols: list[str] | None) -> Iterator[pa.RecordBatch]:
        if self._schema is None:
            self.schema  # noqa: B018 - fixes the column types from the first file for every file
        reader = self._csv_reader(path, cols)
        untyped = self._untyped()
        try:
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    return
                except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
                    raise _csv_error(path, exc) from None
                if untyped:
                    batch = _nulls_as_null(batch, untyped)
                for start in range(0, batch.num_rows, self.batch_rows):
                    yield batch.slice(start, self.batch_rows)
        finally:
            reader.close()

    def _untyped(self) -> set[str]:
        """CSV columns read as text because the first block had no value in them (see :attr:`schema`)."""
        from mlops_ci.drift.builder import UNTYPED_KEY

        return {f.name for f in self.schema if f.metadata and UNTYPED_KEY in f.metadata}

    def partitions(self) -> list["DataSource"]:
        """One source per file: the unit of work a distributed engine schedules."""
        if self.format not in ("parquet", "csv") or len(self.files) <= 1:
            return [self]
        schema = self.schema
        return [DataSource(spec=f, format=self.format, files=[f], rev=self.rev, repo=self.repo,
                           csv_encoding=self.csv_encoding, batch_rows=self.batch_rows, _schema=schema)
                for f in self.files]

    def count_rows(self) -> int | None:
        """Rows from Parquet metadata, without reading data (None for CSV: unknown until read)."""
        if self.format == "parquet":
            return sum(self._parquet_file(f).metadata.num_rows for f in self.files)
        if self.format == "table" and self.table is not None:
            return self.table.num_rows
        return None


def _nulls_as_null(batch: pa.RecordBatch, names: set[str]) -> pa.RecordBatch:
    """Empty cells (and "NA", "null", …) of guessed-as-text columns become nulls.

    Arrow typed these columns "null" from exactly those cells in the first block; read as text they
    would be the value ``""``, and an entirely empty column would look like a string column full of
    one category instead of a column without values.
    """
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    missing = pa.array(pacsv.ConvertOptions().null_values, pa.string())
    arrays = []
    for field, arr in zip(batch.schema, batch.columns):
        if field.name in names and pa.types.is_string(arr.type):
            arr = pc.if_else(pc.is_in(arr, value_set=missing), pa.scalar(None, arr.type), arr)
        arrays.append(arr)
    return pa.RecordBatch.from_arrays(arrays, schema=batch.schema)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _check_names(schema: pa.Schema) -> None:
    """Touch every column name: Arrow keeps the file's bytes and decodes them (UnicodeDecodeError) on access."""
    for f in schema:
        f.name  # noqa: B018


def _names_error(path: str) -> BadInput:
    return BadInput(f"{path}: column names are not UTF-8 text",
                    hint="Re-encode the file as UTF-8 (for CSV, or name its encoding with --csv-encoding).")


#: Arrow quotes the offending row or value in parse errors: dropped, never echoed (it is the file's data).
_QUOTED_DATA = (re.compile(r"(Expected \d+ columns?, got \d+):.*"), re.compile(r"(invalid value) '.*'"))


def _without_data(text: str) -> str:
    for pattern in _QUOTED_DATA:
        text = pattern.sub(r"\1", text)
    return text


def _csv_error(path: str, exc: BaseException) -> BadInput:
    text = _without_data(_first_line(exc))
    if isinstance(exc, UnicodeDecodeError) or "UTF8" in text or "utf8" in text.lower() or "decode" in text.lower():
        return BadInput(f"{path}: not UTF-8 text ({text})",
                        hint="Re-encode the file as UTF-8, or name its encoding with --csv-encoding "
                             "(e.g. latin-1, cp1252).")
    if "Empty CSV" in text:
        return BadInput(f"{path}: empty CSV file (no header, no rows)")
    if "conversion error" in text.lower() or "invalid value" in text.lower():
        return BadInput(f"{path}: a value does not match its column's type ({text})",
                        hint="CSV column types are inferred from the first 16 MB of the first file; "
                             "a column that changes type later (a number column with text in it) "
                             "cannot be streamed. Fix the value or convert the file to Parquet.")
    return BadInput(f"{path}: cannot parse CSV ({text})")


def _format_of(path: str, head: bytes | None) -> str:
    lower = path.lower()
    if lower.endswith(PARQUET_EXT):
        return "parquet"
    if lower.endswith(CSV_EXT):
        return "csv"
    if lower.endswith(PROFILE_EXT):
        return "profile"
    if head is not None:
        if head[:4] == b"PAR1":
            return "parquet"
        from mlops_ci.drift.profile import looks_like_profile

        if looks_like_profile(head):
            return "profile"
    return "csv"


def _is_glob(spec: str) -> bool:
    return any(ch in spec for ch in "*?[")


def _data_file(path: str) -> bool:
    name = os.path.basename(path)
    return not name.startswith((".", "_")) and name.lower().endswith(PARQUET_EXT + CSV_EXT)


def open_source(spec: str, *, rev: str | None = None, repo: str = ".", csv_encoding: str | None = None,
                batch_rows: int = BATCH_ROWS, within: str | None = None, what: str = "data") -> DataSource:
    """Resolve a spec (file, directory, glob; at a DVC revision if ``rev``) into a :class:`DataSource`.

    ``within``: the spec came from the repository's config, so every file it matches in the
    working tree must resolve, symlinks followed, inside that directory (:mod:`mlops_ci.repopath`).
    """
    if not spec:
        raise BadInput("no data given: expected a Parquet/CSV file, a directory, a glob or a profile")
    src = DataSource(spec=spec, format="", rev=rev, repo=repo, csv_encoding=csv_encoding, batch_rows=batch_rows)
    if rev is None:
        return _resolve(src, spec, None, within, what)
    try:  # DVC opens the repository and the revision lazily: any failure surfaces on first use
        return _resolve(src, spec, src._filesystem())
    except BadInput:
        raise
    except Exception as exc:
        raise BadInput(f"{spec}: cannot read from {repo} at revision {rev} ({_first_line(exc)})",
                       hint="Check the revision (branch, tag or commit) and that the path is tracked there.") from None


def _resolve(src: DataSource, spec: str, fs: Any, within: str | None = None, what: str = "data") -> DataSource:
    rev = src.rev
    where = f" at revision {rev}" if rev else ""
    if _is_glob(spec):
        files = sorted(fs.glob(spec) if fs is not None else globlib.glob(spec, recursive=True))
        files = [f for f in files if (fs.isfile(f) if fs is not None else os.path.isfile(f))]
        if not files:
            raise BadInput(f"{spec}: the glob matches no file{where}")
    else:
        is_dir = fs.isdir(spec) if fs is not None else os.path.isdir(spec)
        exists = is_dir or (fs.isfile(spec) if fs is not None else os.path.isfile(spec))
        if not exists:
            raise BadInput(f"{spec}: no such file or directory{where}",
                           hint="Give a Parquet/CSV file, a directory of them, a glob, or a profile JSON.")
        if is_dir:
            found = fs.find(spec) if fs is not None else [
                os.path.join(d, f) for d, _, names in os.walk(spec) for f in names]
            files = sorted(f for f in found if _data_file(f))
            if not files:
                raise BadInput(f"{spec}: directory has no .parquet or .csv file{where}")
        else:
            files = [spec]
    if within is not None and fs is None:  # before any byte is read
        from mlops_ci.repopath import resolves_outside

        for file in files:
            if resolves_outside(file, ".", within):
                raise BadInput(f"{file}: {what} (from .mlops-ci.yml) is outside the repository (a symlink leads "
                               "there)", hint="Data named in .mlops-ci.yml is read from the repository only; pass "
                               "a file elsewhere explicitly with --reference / --current.")
    formats = {_format_of(f, _head(src, f) if len(files) == 1 else None) for f in files}
    if len(formats) > 1:
        raise BadInput(f"{spec}: mixes {' and '.join(sorted(formats))} files; point at one kind")
    src.format = formats.pop()
    src.files = files
    if src.format == "profile" and len(files) > 1:
        raise BadInput(f"{spec}: several profiles matched; pass exactly one")
    return src


def _head(src: DataSource, path: str) -> bytes:
    with src._open(path) as fh:
        return fh.read(8)


def from_table(table: Any, name: str = "table", batch_rows: int = BATCH_ROWS) -> DataSource:
    """An in-memory source (an Arrow table or a pandas DataFrame), e.g. for the demo or tests."""
    if not isinstance(table, pa.Table):
        table = pa.Table.from_pandas(table, preserve_index=False)
    return DataSource(spec=name, format="table", table=table, batch_rows=batch_rows)


def load_profile(src: DataSource) -> Any:
    """The stored profile behind a ``profile`` source."""
    from mlops_ci.drift.profile import loads

    return loads(src.read_bytes(src.files[0]), where=src.name)

