"""Reading monitor spec files safely: which files count, and their YAML with bounded cost.

A spec folder is edited by many teams; one odd file (a directory named ``x.yml``, a Latin-1 file,
a symlink to ``/etc/passwd``, a 80 KB nesting bomb that overflows the C stack, duplicate keys
that silently override each other) must become that file's error, never a crash that takes
every other monitor with it. ``spec.load_spec`` turns ``SpecFileError`` into its ``SpecError``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "MAX_SPEC_BYTES", "MAX_SPEC_DEPTH", "SPEC_SUFFIXES", "SpecFileError", "parse_spec_yaml", "read_spec_bytes",
    "read_spec_yaml", "spec_paths",
]

# A real spec is a few KB; 256 KB leaves room for long descriptions and bounds the parse time.
MAX_SPEC_BYTES = 256 * 1024
# A real spec nests 5 levels deep; libyaml and the constructor recurse per level.
MAX_SPEC_DEPTH = 32
SPEC_SUFFIXES = (".yml", ".yaml")

# libyaml's loader is ~8x faster than the pure-Python one; parse time is paid on every DAG parse.
_BASE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BASE_PARSER: Any = getattr(yaml, "CParser", None)
# What can open a nesting level: a flow bracket, more indentation, or a compact "- "/"? " on a line.
_COMPACT_RE = re.compile(r"(?:^|\s)[-?](?=\s|$)")


class SpecFileError(Exception):
    """One file that cannot be read as a spec; the message never quotes the file's contents."""


class _UniqueKeyLoader(_BASE_LOADER):
    """The fast safe loader, refusing a key that appears twice in one mapping.

    Plain YAML keeps the last value: a copied ``floor:`` line would silently replace the first.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            # Scalar keys (every key of a real spec) compare by tag and text: no construction.
            if isinstance(key_node, yaml.ScalarNode):
                key = key_node.value
                identity: Any = (key_node.tag, key)
            else:
                key = identity = self.construct_object(key_node, deep=True)
            try:
                duplicate = identity in seen
            except TypeError:  # an unhashable key: the base constructor explains it
                break
            if duplicate:
                line = key_node.start_mark.line + 1
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (line {line}): each field may appear once", None
                )
            seen.add(identity)
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


def spec_paths(folder: Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    """The spec files of a folder, sorted, and the entries refused with the reason.

    Only lowercase ``.yml``/``.yaml`` are specs; ``.YML`` and friends are refused by name rather
    than ignored, since a case-insensitive filesystem elsewhere would load them.
    """
    paths: list[Path] = []
    refused: list[tuple[Path, str]] = []
    for path in sorted(folder.iterdir()):
        suffix = path.suffix
        if suffix.lower() not in SPEC_SUFFIXES:
            continue
        if suffix not in SPEC_SUFFIXES:
            refused.append((path, f"the extension {suffix!r} must be lowercase .yml or .yaml"))
            continue
        paths.append(path)
    return paths, refused


def read_spec_yaml(path: Path, folder: Path | None = None) -> Any:
    """The YAML document of one spec file, bounded in size and depth.

    Raises:
        SpecFileError: not a regular file, a symlink out of ``folder``, too large, not UTF-8,
            nested too deep, or not valid YAML (incl. duplicate keys).
    """
    return parse_spec_yaml(read_spec_bytes(path, folder))


def read_spec_bytes(path: Path, folder: Path | None = None) -> bytes:
    """The bytes of one spec file: a regular file inside ``folder``, at most MAX_SPEC_BYTES.

    Raises:
        SpecFileError: as :func:`read_spec_yaml`, for what can be told before parsing.
    """
    folder = folder if folder is not None else path.parent
    if path.is_symlink() and not path.resolve().is_relative_to(folder.resolve()):
        raise SpecFileError("a symlink pointing outside the monitors folder is refused")
    if not path.is_file():
        raise SpecFileError("not a regular file (a spec is one YAML file)")
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_SPEC_BYTES + 1)
    except OSError as exc:
        raise SpecFileError(f"cannot be read: {exc.strerror or type(exc).__name__}") from exc
    if len(data) > MAX_SPEC_BYTES:
        raise SpecFileError(f"larger than {MAX_SPEC_BYTES // 1024} KB; a spec is a few KB")
    return data


def parse_spec_yaml(data: bytes) -> Any:
    """The YAML document in ``data`` (UTF-8), nesting bounded before the recursive constructor.

    Raises:
        SpecFileError: not UTF-8, nested too deep, or not valid YAML (incl. duplicate keys).
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecFileError(f"not UTF-8 text (byte {exc.start}); save the file as UTF-8") from exc
    _check_depth(text)
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a safe loader subclass
    except yaml.YAMLError as exc:
        raise SpecFileError(f"not valid YAML: {exc}") from exc
    except RecursionError as exc:  # aliases can still nest deeper than the text shows
        raise SpecFileError(f"nested deeper than {MAX_SPEC_DEPTH} levels") from exc


def _check_depth(text: str) -> None:
    """Refuse YAML nested deeper than MAX_SPEC_DEPTH before the recursive constructor sees it.

    Counted on libyaml's event stream (an iterative parser with its own stack), so a nesting
    bomb costs one linear pass and never a C stack overflow. Skipped when the text cannot
    open that many levels at all, which is every ordinary spec: the check is then free.
    """
    if _depth_bound(text) <= MAX_SPEC_DEPTH:
        return
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_BASE_LOADER):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_SPEC_DEPTH:
                    raise SpecFileError(f"nested deeper than {MAX_SPEC_DEPTH} levels")
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError as exc:
        # libyaml 0.2.5 as bundled by PyYAML 6.0.4 has a nesting limit of its own; its scanner
        # reads a flow collection's brackets ahead of the events, so it can refuse first.
        if "maximum nesting depth" in str(exc):
            raise SpecFileError(f"nested deeper than {MAX_SPEC_DEPTH} levels") from exc
        raise SpecFileError(f"not valid YAML: {exc}") from exc


def _depth_bound(text: str) -> int:
    """An upper bound of the nesting depth: every level needs a bracket, indentation or a dash."""
    brackets = text.count("[") + text.count("{")
    lines = text.splitlines()
    indent = max((len(line) - len(line.lstrip(" ")) for line in lines), default=0)
    compact = max((len(_COMPACT_RE.findall(line)) for line in lines), default=0)
    return brackets + indent + compact
