"""Specs that travel: a set of specs carried as what they are written in, compiled once in each process that scores.

Stage: loading specs (beside `engine.load_specs`), for scoring on other processes or machines (Dask, Spark, Ray).
Input: spec paths (`SpecSet.load`), or `SpecSource`s. Output: a `SpecSet`, a read-only mapping of spec id →
`CompiledSpec` that pickles as its sources only: each spec's text and the bytes of every file it names (`tables.*.file`
CSV tables, `sources.*.file` cited texts), with the path it was loaded from.

Why: a compiled spec cannot be pickled (its functions are made by `exec`), and rebuilding it takes a tenth of a
second or more, so a task must not carry it. A spec's text and its files are a few tens of kilobytes; the process
that unpickles them compiles each spec the first time a member needs it and keeps it (per process, keyed by the
content: path, text and files), so every later task on that worker reuses it.

Where a spec is compiled away from its folder, the files it names are read from a private temporary copy of what it
carries, by the same rule as always (`files.spec_folder_stand_in`): the compile reads nothing of the worker's own
disk, and traces and messages still name the spec's path as it was loaded.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import threading
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

from ceruleng.compiled import CompiledSpec
from ceruleng.engine import check_text
from ceruleng.errors import Diagnostic, InputError, SpecError
from ceruleng.files import FileProblem, read_spec_file, read_spec_source, spec_files, spec_folder_stand_in
from ceruleng.source import SourceText

__all__ = ["SpecSet", "SpecSource"]

MAX_COMPILED = 64
"""Compiled specs kept per process; past this the oldest is dropped (a long-lived worker scoring many spec sets)."""


@dataclass(frozen=True)
class SpecSource:
    """One spec as written: its path (as named when loaded: traces and messages show it), its text, its id, and the
    files it names, each as the spec names it with its bytes."""

    path: str
    text: str
    id: str
    files: tuple[tuple[str, bytes], ...] = ()
    key: str = field(init=False, repr=False, compare=False)
    """A digest of everything the compiled spec depends on: what the per-process cache is keyed by."""

    def __post_init__(self) -> None:
        digest = hashlib.sha256()
        for part in (self.path, self.text, self.id):
            encoded = part.encode("utf-8", "surrogatepass")
            digest.update(len(encoded).to_bytes(8, "big") + encoded)
        for name, data in self.files:
            encoded = name.encode("utf-8", "surrogatepass")
            digest.update(len(encoded).to_bytes(8, "big") + encoded + len(data).to_bytes(8, "big") + data)
        object.__setattr__(self, "key", digest.hexdigest())

    def __reduce__(self) -> tuple[Any, ...]:
        return SpecSource, (self.path, self.text, self.id, self.files)


class SpecSet(Mapping[str, CompiledSpec]):
    """Specs by id, compiled on first use in each process; pickles as its `SpecSource`s.

    Pass one wherever compiled specs are expected (`score_lines`, `Evaluator`); send it to workers as it is (a Dask
    argument, a Spark broadcast, a Ray object).
    """

    __slots__ = ("_ready", "_sources", "key")

    def __init__(self, sources: Iterable[SpecSource]) -> None:
        by_id: dict[str, SpecSource] = {}
        for source in sources:
            if source.id in by_id:
                raise InputError(f"{source.path}: spec id '{source.id}' is also used by {by_id[source.id].path}")
            by_id[source.id] = source
        self._sources = by_id
        self._ready: dict[str, CompiledSpec] = {}
        self.key = hashlib.sha256("|".join(s.key for s in by_id.values()).encode()).hexdigest()

    @classmethod
    def load(cls, paths: Iterable[str | os.PathLike[str]]) -> SpecSet:
        """Every spec under `paths` (files or folders, as `--rules` takes them), checked here so a broken spec fails
        now, with its diagnostics (SpecError), rather than on every worker. InputError when a path is missing or
        names no spec, or two specs share an id."""
        named = [os.fspath(path) for path in paths]
        found = spec_files(named)
        if not found:
            raise InputError(f"no spec files (.yaml, .yml) found in {', '.join(named)}")
        sources: list[SpecSource] = []
        broken: list[Diagnostic] = []
        texts: dict[str, SourceText] = {}
        for path in found:
            source, diagnostics, text = _load_source(path)
            if source is None:
                broken.extend(diagnostics)
                if text is not None:
                    texts[path] = text
                continue
            sources.append(source)
        if broken:
            raise SpecError(broken, texts)
        return cls(sources)

    @property
    def sources(self) -> tuple[SpecSource, ...]:
        return tuple(self._sources.values())

    def __getitem__(self, spec_id: str) -> CompiledSpec:
        ready = self._ready.get(spec_id)
        if ready is None:
            ready = self._ready[spec_id] = compiled(self._sources[spec_id])
        return ready

    def get(self, spec_id: str, default: Any = None) -> Any:  # the scorer's lookup, once per credential: kept short
        ready = self._ready.get(spec_id)
        if ready is not None:
            return ready
        return self[spec_id] if spec_id in self._sources else default

    def __contains__(self, spec_id: object) -> bool:
        return spec_id in self._sources

    def __iter__(self) -> Iterator[str]:
        return iter(self._sources)

    def __len__(self) -> int:
        return len(self._sources)

    def __repr__(self) -> str:
        return f"SpecSet({', '.join(self._sources)})"

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its sources, compressed (the bundled specs: 450 kB to 100 kB): Dask sends it with every group of
        tasks, Spark with every broadcast."""
        plain = tuple((s.path, s.text, s.id, s.files) for s in self._sources.values())
        return _unpack, (zlib.compress(marshal.dumps(plain)),)

    def __dask_tokenize__(self) -> str:
        """Dask names a task's input by its content: the same specs are the same input."""
        return self.key


def _unpack(packed: bytes) -> SpecSet:
    return SpecSet(SpecSource(*fields) for fields in marshal.loads(zlib.decompress(packed)))


def _load_source(path: str) -> tuple[SpecSource | None, list[Diagnostic], SourceText | None]:
    """One spec file, checked on its own folder; its source with the files it names, or its diagnostics."""
    found = read_spec_source(path)
    if isinstance(found, Diagnostic):
        return None, [found], None
    text = found[1]
    checked = check_text(text, path)
    if checked.spec is None:
        return None, checked.diagnostics, checked.source
    files = []
    for name in dict.fromkeys(checked.dependencies):
        data = read_spec_file(path, name)
        if not isinstance(data, FileProblem):  # a missing cited text is a warning, and stays one where it compiles
            files.append((name, data))
    return SpecSource(path, text, checked.spec.id, tuple(files)), [], None


# ---- compiling, once per process ---------------------------------------------------------------------------------

_COMPILED: dict[str, CompiledSpec] = {}
_LOCK = threading.Lock()


def compiled(source: SpecSource) -> CompiledSpec:
    """The compiled spec of `source`, compiled in this process once (worker threads wait for the first compile)."""
    found = _COMPILED.get(source.key)
    if found is not None:
        return found
    with _LOCK:
        found = _COMPILED.get(source.key)
        if found is None:
            found = _compile(source)
            while len(_COMPILED) >= MAX_COMPILED:
                del _COMPILED[next(iter(_COMPILED))]
            _COMPILED[source.key] = found
    return found


def _compile(source: SpecSource) -> CompiledSpec:
    """Compile from the carried text and files alone: the files are laid out in a fresh private folder that stands
    in for the spec's own, and are gone once it is compiled (the compiler keeps what it read)."""
    import tempfile  # here, not at the top: `eval` imports this module (through `lines`) and never compiles here

    with tempfile.TemporaryDirectory(prefix="ceruleng-spec-") as folder:
        for name, data in source.files:
            _lay_out(Path(folder), name, data)
        with spec_folder_stand_in(source.path, folder):
            checked = check_text(source.text, source.path)
    if checked.spec is None:
        raise SpecError(checked.diagnostics, {source.path: checked.source} if checked.source else None)
    if checked.spec.id != source.id:
        raise InputError(f"{source.path}: the spec's id is '{checked.spec.id}', not '{source.id}' as carried")
    return checked.spec


def _lay_out(folder: Path, name: str, data: bytes) -> None:
    """Write a carried file where the spec's name for it leads inside `folder`, making the folders on the way (a
    `..` in the name must resolve, as it did where the spec was loaded). A name that is absolute, leads out of
    `folder` or collides with a folder is not written: the compile then reports the file as missing."""
    parts = PurePath(name).parts
    if not parts or PurePath(name).anchor or parts[-1] == "..":
        return
    place = folder
    try:
        for part in parts[:-1]:
            if part != "..":
                place = place / part
                place.mkdir(exist_ok=True)
            elif place == folder:
                return
            else:
                place = place.parent
        (place / parts[-1]).write_bytes(data)
    except OSError:
        return
