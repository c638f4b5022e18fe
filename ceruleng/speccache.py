"""`eval`'s compiled-spec cache: a spec whose bytes, dependencies, ceruleng and Python are unchanged is rebuilt from
what its last compile stored, without the front end (YAML loader, schema, compiler, expression parser, back end).

Stage: loading specs (in front of `engine.load_specs`). Input: spec paths. Output: compiled specs by id, exactly as
`engine.load_specs` gives them (the same errors for broken specs and shared ids; a broken spec is never cached).

An entry is one file per spec, named by the SHA-256 of (ceruleng's fingerprint, the Python version, the spec's path
as given, its bytes). Its signed header holds the format, that key, the hashes of the files the spec reads (CSV
tables, cited texts: they must still match, re-read by the compiler's own rule `files.read_spec_file`, as in
`check`'s cache), the spec's id, the facts reports need of it (`report.facts`), and the SHA-256 of the body. The body:
- each generated module (the scoring module, the record checkers): its functions' code objects (marshal), the
  constants its namespace is bound to beyond the runtime's helpers (pickled), and its source (for linecache);
- the `CompiledSpec` (pickled), in which every generated function and every generated namespace is a reference
  (module number, name) rather than a value.
A run reads and checks every header (a few hundred bytes each), and a body only when a member holds a credential of
that spec (`CachedSpecs`). Loading a body rebuilds each module's namespace from the runtime (`RUNTIME` or `RECORDS`,
by reference) and its constants, makes each function from its code object in that namespace (a generated module is
top-level `def`s only), registers the sources with `linecache` (tracebacks, and `origins_of`: an internal error still
names the spec file:line), then unpickles the spec, binding each reference to its function. Nothing is parsed or
compiled: a warm `eval` costs little more than its imports.

Why pickle here when `check`'s cache is JSON only: a compiled spec is objects and code, which JSON cannot carry
without redoing the front end's work. A header is unmarshalled only after its HMAC (the per-user secret of
`ceruleng.cachefolder`, over the key and the header) checks out, and a body only once its hash is the one the
header names, so only bytes this user's ceruleng wrote for this key are ever loaded; unpickling is also limited to
the classes a compiled spec is made of (`_ALLOWED`), as defence in depth. A tampered, truncated, foreign, oversized,
symlinked, wrong-version or unreadable entry is a miss: the spec is compiled again, never an error. The folder and
its security model are `ceruleng.cachefolder`'s (the same as `check`'s); `--no-cache` or CERULENG_NO_CACHE=1 turns
the cache off.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import linecache
import marshal
import pickle
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import fields
from pathlib import Path
from types import CodeType, FunctionType
from typing import Any

from ceruleng.cachefolder import (
    FORMAT,
    checker_fingerprint,
    dependency_hash,
    entry_name,
    open_private,
    private_folder,
    secret,
    sign,
    store_entry,
)
from ceruleng.compiled import CompiledSpec
from ceruleng.engine import CheckedFile, check_text, named_spec_files, one_per_id, refuse_broken
from ceruleng.errors import Diagnostic
from ceruleng.files import read_spec_source
from ceruleng.report.facts import SpecFacts, facts_of
from ceruleng.report.facts import spec_facts as report_facts
from ceruleng.runtime import RECORDS, RUNTIME
from ceruleng.source import Span

__all__ = ["MAX_ENTRY_BYTES", "CachedSpecs", "load_specs", "spec_facts"]

MAGIC = b"ceruleng compiled spec\n"
MAX_ENTRY_BYTES = 32 * 1024 * 1024
"""Largest entry read back; the bundled specs' entries are 150 to 450 kB."""
MAX_HEADER_BYTES = 64 * 1024
"""Most of an entry read to check it (its header: a few hundred bytes; a larger header is a miss)."""
GENERATED = "<ceruleng "
"""How the file name of every generated module begins (`CodeWriter`): what marks a function as generated."""
_BASES: dict[str, dict[str, Any]] = {"runtime": RUNTIME, "records": RECORDS}
"""The globals a generated module starts from, by name: rebound by reference, never stored."""
_ALLOWED = frozenset({("decimal", "Decimal"), ("datetime", "date"), ("functools", "partial"), ("re", "_compile"),
                      ("builtins", "ValueError"), ("ceruleng.values", "format_value"),
                      ("ceruleng.templates", "_render_credits")})
"""What a compiled spec's pickle may name besides ceruleng's own classes: anything else makes the entry a miss."""


_SPAN_FIELDS = tuple(f.name for f in fields(Span))


class _Unstorable(Exception):
    """The compiled spec holds something the cache cannot carry by reference: the spec is simply not cached."""


# ---- storing ---------------------------------------------------------------------------------------------------


class _Modules:
    """The generated modules (namespaces) a compiled spec refers to, numbered in the order they are found while
    pickling it. By number, not file name: a spec's two record checkers share one file name."""

    def __init__(self) -> None:
        self.numbers: dict[int, int] = {}
        self.found: list[dict[str, Any]] = []

    def number(self, namespace: dict[str, Any]) -> int:
        number = self.numbers.get(id(namespace))
        if number is None:
            number = self.numbers[id(namespace)] = len(self.found)
            self.found.append(namespace)
        return number


class _Pickler(pickle.Pickler):
    """Pickles a compiled spec with every generated function and namespace as a reference (persistent id)."""

    def __init__(self, file: io.BytesIO, modules: _Modules) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.modules = modules

    def reducer_override(self, obj: Any) -> Any:
        """`Span`s, frozen slotted dataclasses (a spec holds tens of thousands), as a call of their class with their
        fields, which unpickles several times faster than the generic `__setstate__` (the msgspec Structs of the
        model pickle that way themselves)."""
        if type(obj) is Span:
            return Span, tuple(getattr(obj, name) for name in _SPAN_FIELDS)
        return NotImplemented

    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, FunctionType):
            code = obj.__code__
            if not code.co_filename.startswith(GENERATED):
                return None
            name, namespace = obj.__name__, obj.__globals__
            if obj.__closure__ is not None or namespace.get(name) is not obj:
                raise _Unstorable(f"{name} is not a top-level function of its module")
            return "function", self.modules.number(namespace), name
        if type(obj) is dict:
            number = self.modules.numbers.get(id(obj))
            if number is not None:
                return "namespace", number
        return None


def _pickled(value: Any, modules: _Modules) -> bytes:
    buffer = io.BytesIO()
    _Pickler(buffer, modules).dump(value)
    return buffer.getvalue()


ModuleRecord = tuple[str, bytes, list[tuple[str, bytes]]]
"""(base, constants, functions) of one generated module: the name of the runtime globals it starts from, its own
constants and its functions' defaults (pickled), and each function's code object (marshal), in definition order."""


def _module_record(namespace: dict[str, Any], modules: _Modules) -> ModuleRecord:
    """What `_Loader.namespace` rebuilds one generated module from. A generated module is top-level `def`s only
    (`CodeWriter`), so its namespace is exactly: the runtime's globals, its constants, and its functions, each
    rebuilt from its code object (no source to compile, no module code to run). Anything else the module bound
    would be a value, and is stored with the constants."""
    base_name = next((name for name, base in _BASES.items()
                      if all(namespace.get(key) is value for key, value in base.items())), None)
    if base_name is None:
        raise _Unstorable("a generated module that does not start from the runtime's globals")
    base = _BASES[base_name]
    own: dict[str, Any] = {}
    functions: list[tuple[str, bytes]] = []
    defaults: dict[str, tuple[Any, Any]] = {}
    for key, value in namespace.items():
        if isinstance(value, FunctionType) and value.__globals__ is namespace and value.__name__ == key:
            functions.append((key, marshal.dumps(value.__code__)))
            if value.__defaults__ is not None or value.__kwdefaults__ is not None:
                defaults[key] = (value.__defaults__, value.__kwdefaults__)
        elif not (key in base and base[key] is value):
            own[key] = value
    return base_name, _pickled((own, defaults), modules), functions


def _payload(spec: CompiledSpec, key: str, dependencies: dict[str, str | None]) -> tuple[bytes, bytes]:
    """(header, body). The header, (format, key, dependencies, id, facts, SHA-256 of the body), is what every run
    reads of every spec: what `_lookup` checks, and what it needs before scoring (the id, the report facts). The
    body, (modules, spec), is read only when a member needs the spec; the signed header commits to it by its hash."""
    facts = pickle.dumps(facts_of(spec), protocol=pickle.HIGHEST_PROTOCOL)
    modules = _Modules()
    if spec.program is not None:
        modules.number(spec.program.namespace)
    pickled = _pickled(spec, modules)
    records: list[ModuleRecord] = []
    while len(records) < len(modules.found):  # a module's constants may name another's function (`_standard`)
        records.append(_module_record(modules.found[len(records)], modules))
    filenames = {function.__code__.co_filename for namespace in modules.found for function in namespace.values()
                 if isinstance(function, FunctionType) and function.__globals__ is namespace}
    sources = {}
    for filename in sorted(filenames):
        registered = linecache.cache.get(filename)
        if registered is None or len(registered) != 4:
            raise _Unstorable(f"the source of {filename} is not registered")
        sources[filename] = "".join(registered[2])
    body = marshal.dumps(((records, sources), pickled))
    header = marshal.dumps((FORMAT, key, dependencies, spec.id, facts, hashlib.sha256(body).digest()))
    return header, body


def _entry_bytes(key_bytes: bytes, key: str, header: bytes, body: bytes) -> bytes:
    """MAGIC, the header's length (4 bytes), the MAC of key and header, the header, the body."""
    return MAGIC + len(header).to_bytes(4, "big") + sign(key_bytes, key.encode() + header) + header + body


def _store(directory: Path, key: str, checked: CheckedFile) -> None:
    """Write the entry for a freshly compiled spec; a spec the cache cannot carry, or a write that fails, is
    simply not cached."""
    key_bytes = secret(directory)
    if key_bytes is None or checked.spec is None:
        return
    dependencies = {name: dependency_hash(checked.path, name) for name in dict.fromkeys(checked.dependencies)}
    try:
        header, body = _payload(checked.spec, key, dependencies)
    except (_Unstorable, pickle.PicklingError, TypeError, AttributeError, ValueError, RecursionError):
        return
    entry = _entry_bytes(key_bytes, key, header, body)
    if len(entry) <= MAX_ENTRY_BYTES:
        store_entry(directory, checked.path, key, ".spec", entry)


# ---- loading ---------------------------------------------------------------------------------------------------


class _Unpickler(pickle.Unpickler):
    """Unpickles what `_Pickler` wrote: references are bound to the rebuilt modules; classes are limited to those
    a compiled spec is made of."""

    def __init__(self, data: bytes, loader: _Loader) -> None:
        super().__init__(io.BytesIO(data))
        self.loader = loader

    def persistent_load(self, pid: Any) -> Any:
        if type(pid) is tuple and len(pid) == 2 and pid[0] == "namespace":
            return self.loader.namespace(pid[1])
        if type(pid) is tuple and len(pid) == 3 and pid[0] == "function":
            function = self.loader.namespace(pid[1]).get(pid[2])
            if type(function) is FunctionType:
                return function
        raise pickle.UnpicklingError("not a reference the cache writes")

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        found = super().find_class(module, name) if module.startswith("ceruleng.") else None
        if not isinstance(found, type):
            raise pickle.UnpicklingError(f"{module}.{name} is not part of a compiled spec")
        return found


class _Loader:
    """Rebuilds the generated modules of one entry on first reference: the runtime's globals, the stored constants,
    and each function from its code object; the sources registered with linecache as the compile left them."""

    def __init__(self, modules: Any) -> None:
        records, sources = modules if type(modules) is tuple and len(modules) == 2 else ([], {})
        self.records: list[Any] = records if type(records) is list else []
        self.sources: dict[Any, Any] = sources if type(sources) is dict else {}
        self.built: dict[int, dict[str, Any]] = {}
        self.building: set[int] = set()
        self.registered = False

    def namespace(self, number: Any) -> dict[str, Any]:
        built = self.built.get(number)
        if built is not None:
            return built
        if type(number) is not int or not 0 <= number < len(self.records) or number in self.building:
            raise pickle.UnpicklingError("a reference to a module the entry does not hold")
        self.register()
        base_name, constants, functions = self.records[number]
        base = _BASES.get(base_name) if type(base_name) is str else None
        if base is None or type(constants) is not bytes or type(functions) is not list:
            raise pickle.UnpicklingError("a module record of the wrong shape")
        self.building.add(number)
        own, defaults = _Unpickler(constants, self).load()
        if type(own) is not dict or type(defaults) is not dict:
            raise pickle.UnpicklingError("a module record of the wrong shape")
        namespace = {**base, **own}
        for name, code_bytes in functions:
            code = marshal.loads(code_bytes)
            if type(code) is not CodeType or code.co_filename not in self.sources:
                raise pickle.UnpicklingError("a function of the wrong shape")
            function = FunctionType(code, namespace, name)
            function.__defaults__, function.__kwdefaults__ = defaults.get(name, (None, None))
            namespace[name] = function
        self.built[number] = namespace
        return namespace

    def register(self) -> None:
        """The generated sources with linecache (tracebacks show the generated line; `origins_of` maps it back)."""
        if not self.registered:
            for filename, source in self.sources.items():
                if type(filename) is str and filename.startswith(GENERATED) and type(source) is str:
                    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
            self.registered = True


class _Entry:
    """A valid entry header of one spec; the spec is loaded from the entry's body when first used."""

    __slots__ = ("digest", "directory", "facts", "file", "key", "offset", "path")

    def __init__(self, directory: Path, key: str, path: str, file: Path, offset: int, digest: bytes,
                 facts: SpecFacts) -> None:
        self.directory, self.key, self.path, self.file, self.offset = directory, key, path, file, offset
        self.digest, self.facts = digest, facts

    def load(self) -> CompiledSpec:
        """The compiled spec; should the body not be the one the signed header names, or not load after all (it
        names a class that is gone, or one it may not), compiled afresh and stored again: the entry was written for
        a spec that compiled cleanly from these very bytes, so it compiles again (should the file have changed
        since, its errors are raised)."""
        spec = None
        raw = open_private(self.file, MAX_ENTRY_BYTES)
        body = raw[self.offset:] if raw is not None else b""
        if hmac.compare_digest(hashlib.sha256(body).digest(), self.digest):
            try:
                modules, pickled = marshal.loads(body)
                spec = _Unpickler(pickled, _Loader(modules)).load()
            except Exception:  # whatever a bad entry does while loading, it is a miss, never a crash
                spec = None
        if type(spec) is CompiledSpec and spec.model.path == self.path:
            return spec
        source = read_spec_source(self.path)
        checked = (CheckedFile(self.path, None, [source]) if isinstance(source, Diagnostic)
                   else _compiled(self.directory, _key(self.path, source[0]), source[1], self.path))
        refuse_broken([checked])
        assert checked.spec is not None
        return checked.spec


def _compiled(directory: Path | None, key: str, text: str, path: str) -> CheckedFile:
    """A cache miss: the spec checked and compiled, and stored when it compiled cleanly."""
    checked = check_text(text, path)
    if directory is not None and checked.spec is not None:
        _store(directory, key, checked)
    return checked


def _lookup(directory: Path, key_bytes: bytes, key: str, path: str) -> tuple[str, _Entry] | None:
    """The spec id and entry stored for `key`, or None (a miss) unless the entry's header is exactly what `_store`
    wrote for this key, signed with this user's secret, and every file it depends on is unchanged. Only the header
    is read; the body is read, and checked against the header's hash, when the spec is first used."""
    entry = directory / entry_name(path, key, ".spec")
    raw = open_private(entry, MAX_ENTRY_BYTES, first=MAX_HEADER_BYTES)
    start = len(MAGIC) + 4 + 32
    if raw is None or not raw.startswith(MAGIC) or len(raw) < start:
        return None
    length = int.from_bytes(raw[len(MAGIC): len(MAGIC) + 4], "big")
    header = raw[start: start + length]
    if len(header) != length or not hmac.compare_digest(raw[start - 32: start], sign(key_bytes, key.encode() + header)):
        return None
    try:
        form, stored_key, dependencies, spec_id, facts, digest = marshal.loads(header)
        if (form != FORMAT or stored_key != key or type(dependencies) is not dict or type(spec_id) is not str
                or type(digest) is not bytes):
            return None
        for name, hashed in dependencies.items():
            if type(name) is not str or dependency_hash(path, name) != hashed:
                return None
        shown = _Unpickler(facts, _Loader(None)).load()
    except Exception:  # whatever a bad entry does while loading, it is a miss, never a crash
        return None
    if type(shown) is not SpecFacts or shown.id != spec_id:
        return None
    return spec_id, _Entry(directory, key, path, entry, start + length, digest, shown)


def _key(path: str, raw: bytes) -> str:
    identity = f"{checker_fingerprint()}|{sys.version}|{sys.implementation.cache_tag}|{path}|"
    return hashlib.sha256(identity.encode("utf-8", "backslashreplace") + raw).hexdigest()


class CachedSpecs(Mapping[str, CompiledSpec]):
    """Specs by id, as `engine.load_specs` returns them, except that a spec from the cache is unpickled when first
    looked up: a run scoring members of one spec does not pay for loading the others. Its `facts` (what reports
    need of every spec) come from the entries without loading them."""

    __slots__ = ("_specs",)

    def __init__(self, specs: dict[str, CompiledSpec | _Entry]) -> None:
        self._specs = specs

    def __getitem__(self, spec_id: str) -> CompiledSpec:
        found = self._specs[spec_id]
        if isinstance(found, _Entry):
            found = self._specs[spec_id] = found.load()
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)

    def __contains__(self, spec_id: object) -> bool:
        return spec_id in self._specs

    def facts(self) -> dict[str, SpecFacts]:
        """`report.facts.spec_facts` of these specs, loading none of them from the cache."""
        return {spec_id: found.facts if isinstance(found, _Entry) else facts_of(found)
                for spec_id, found in self._specs.items()}


def load_specs(paths: Iterable[str], use_cache: bool = True) -> CachedSpecs:
    """`engine.load_specs` through the cache (`use_cache=False`: compile every spec, as `--no-cache` asks)."""
    directory = private_folder() if use_cache else None
    key_bytes = secret(directory) if directory is not None else None
    if key_bytes is None:
        directory = None  # no secret to sign or check entries with: no cache
    found: list[tuple[str, str, CompiledSpec | _Entry]] = []
    checked: list[CheckedFile] = []
    for path in named_spec_files(paths):
        source = read_spec_source(path)
        if isinstance(source, Diagnostic):
            checked.append(CheckedFile(path, None, [source]))
            continue
        raw, text = source
        key = _key(path, raw) if directory is not None else ""
        hit = _lookup(directory, key_bytes, key, path) if directory is not None and key_bytes is not None else None
        if hit is not None:
            found.append((path, hit[0], hit[1]))
            continue
        fresh = _compiled(directory, key, text, path)
        checked.append(fresh)
        if fresh.spec is not None:
            found.append((path, fresh.spec.id, fresh.spec))
    refuse_broken(checked)
    return CachedSpecs(one_per_id(found))


def spec_facts(specs: Mapping[str, CompiledSpec]) -> dict[str, SpecFacts]:
    """`report.facts.spec_facts`, without loading cached specs that no member may need."""
    return specs.facts() if isinstance(specs, CachedSpecs) else report_facts(specs)
