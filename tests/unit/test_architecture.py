"""The package's shape, checked on every ``make test``.

- No import cycle among the modules of ``gapwatch``. Imports deferred inside functions count (they
  still tie the modules together); imports under ``TYPE_CHECKING`` do not (they never run).
- Airflow is imported only by ``gapwatch.airflow`` (``dags/`` and ``plugins/`` live outside the
  package and may import it).
- No module over 500 lines; no function over 60 lines unless its docstring says why ("Long: ...").

The import graph comes from grimp, which parses every import statement of the package's files,
including the ones inside functions.
"""

from __future__ import annotations

import ast
from collections import deque
from collections.abc import Iterator
from pathlib import Path

import grimp
import pytest

PACKAGE = "gapwatch"
ADAPTER = "gapwatch.airflow"
# The entry points above the adapter: they may import it (as dags/ and plugins/ do).
ENTRY_POINTS = ("gapwatch.cli", "gapwatch.demo")
# The pure core: no I/O of its own beyond reading its files, imports nothing above it.
CORE = (
    "gapwatch.catalog",
    "gapwatch.config",
    "gapwatch.spec",
    "gapwatch.spec_fields",
    "gapwatch.spec_files",
    "gapwatch.spec_adoption",
    "gapwatch.text",
    "gapwatch.window",
    "gapwatch.policy",
    "gapwatch.findings",
    "gapwatch.evaluation",
    "gapwatch.redaction",
)
PACKAGE_DIR = Path(__file__).resolve().parents[2] / "include" / PACKAGE

MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60
REASON_MARKER = "Long:"

# Over the limits on this branch, in files other engineers of issue 9 are rewriting at the same time
# (their branches shorten them). The merger deletes each entry as its file comes in under the limit;
# `test_known_offenders_are_still_over_the_limit` fails on an entry that no longer needs to be here.
KNOWN_LONG_MODULES: set[str] = set()
KNOWN_LONG_FUNCTIONS: set[str] = set()


# ---------------------------------------------------------------- import graph


def build_graph(package: str = PACKAGE, *, with_type_checking: bool = False) -> grimp.ImportGraph:
    """The package's import graph, with third-party packages as single (squashed) nodes."""
    return grimp.build_graph(
        package,
        include_external_packages=True,
        exclude_type_checking_imports=not with_type_checking,
        cache_dir=None,
    )


def internal_modules(graph: grimp.ImportGraph) -> set[str]:
    return {m for m in graph.modules if m == PACKAGE or m.startswith(PACKAGE + ".")}


def strongly_connected(graph: grimp.ImportGraph, modules: set[str]) -> list[list[str]]:
    """Tarjan's strongly connected components of the import graph restricted to ``modules``.

    Iterative, so a long chain of imports cannot hit Python's recursion limit.
    """
    edges = {m: sorted(graph.find_modules_directly_imported_by(m) & modules) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for root in sorted(modules):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(edges[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
    return components


def shortest_cycle_through(graph: grimp.ImportGraph, start: str, members: set[str]) -> list[str]:
    """The shortest import chain from ``start`` back to ``start`` inside one component."""
    previous: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for child in sorted(graph.find_modules_directly_imported_by(node) & members):
            if child == start:
                chain = [node]
                while chain[-1] != start:
                    chain.append(previous[chain[-1]])
                return [*reversed(chain), start]
            if child not in previous:
                previous[child] = node
                queue.append(child)
    raise AssertionError(f"{start} is in a component but on no cycle")  # pragma: no cover


def describe_chain(graph: grimp.ImportGraph, chain: list[str]) -> str:
    """One line per import of the chain, with the line that makes it: what to change to break it."""
    lines = []
    for importer, imported in zip(chain, chain[1:], strict=False):
        details = graph.get_import_details(importer=importer, imported=imported)
        where = ", ".join(f"line {d['line_number']}: {d['line_contents'].strip()}" for d in details)
        lines.append(f"    {importer} -> {imported}   ({where})")
    return "\n".join(lines)


def import_cycles(graph: grimp.ImportGraph) -> list[str]:
    """Every cycle (one per strongly connected component), described for a failure message."""
    reports = []
    for component in strongly_connected(graph, internal_modules(graph)):
        if len(component) < 2:
            continue
        members = set(component)
        chain = min((shortest_cycle_through(graph, m, members) for m in component), key=len)
        reports.append(
            f"  {len(component)} modules in one cycle: {', '.join(component)}\n"
            f"  e.g. {' -> '.join(chain)}\n{describe_chain(graph, chain)}"
        )
    return reports


def airflow_imports_outside_adapter(graph: grimp.ImportGraph) -> list[str]:
    """``module: line N: import ...`` for every Airflow import outside ``gapwatch.airflow``."""
    offenders = []
    for module in sorted(graph.find_modules_that_directly_import("airflow")):
        if not _within(module, ADAPTER):
            offenders += _import_lines(graph, module, "airflow")
    return offenders


def adapter_imports_from_below(graph: grimp.ImportGraph) -> list[str]:
    """Imports of ``gapwatch.airflow`` by anything but the entry points (arrows run one way)."""
    offenders = []
    for module in sorted(internal_modules(graph)):
        if _within(module, ADAPTER) or any(_within(module, entry) for entry in ENTRY_POINTS):
            continue
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if _within(imported, ADAPTER):
                offenders += _import_lines(graph, module, imported)
    return offenders


def core_imports_of_upper_layers(graph: grimp.ImportGraph) -> list[str]:
    """Imports by a pure-core module of any package module outside the core."""
    offenders = []
    for module in sorted(internal_modules(graph)):
        if not _in_core(module):
            continue
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if _within(imported, PACKAGE) and imported != PACKAGE and not _in_core(imported):
                offenders += _import_lines(graph, module, imported)
    return offenders


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _in_core(module: str) -> bool:
    return any(_within(module, core) for core in CORE)


def _import_lines(graph: grimp.ImportGraph, importer: str, imported: str) -> list[str]:
    return [
        f"  {importer} -> {imported}: line {d['line_number']}: {d['line_contents'].strip()}"
        for d in graph.get_import_details(importer=importer, imported=imported)
    ]


def test_no_import_cycle_in_the_package() -> None:
    cycles = import_cycles(build_graph())
    assert not cycles, "import cycles in gapwatch (deferred imports count):\n" + "\n".join(cycles)


def test_airflow_is_imported_only_by_the_adapter() -> None:
    # TYPE_CHECKING imports count here: a type from Airflow in the core ties the core to Airflow.
    offenders = airflow_imports_outside_adapter(build_graph(with_type_checking=True))
    assert not offenders, (
        f"airflow imported outside {ADAPTER} (only {ADAPTER}, dags/ and plugins/ may):\n"
        + "\n".join(offenders)
    )


def test_only_the_entry_points_import_the_adapter() -> None:
    offenders = adapter_imports_from_below(build_graph())
    assert not offenders, (
        f"{ADAPTER} imported from below (only {', '.join(ENTRY_POINTS)}, dags/ and plugins/ may; "
        "pass what the lower layer needs in instead, e.g. a resolver or the senders):\n"
        + "\n".join(offenders)
    )


def test_the_pure_core_imports_only_the_core() -> None:
    offenders = core_imports_of_upper_layers(build_graph())
    assert not offenders, (
        f"the pure core ({', '.join(CORE)}) imports a stage, the store or the adapter:\n"
        + "\n".join(offenders)
    )


def test_the_checks_see_each_fault() -> None:
    """Each check above fails on a graph that has its fault (so a pass means something)."""
    graph = build_graph(with_type_checking=True)
    assert not import_cycles(graph)
    graph.add_import(importer="gapwatch.spec", imported="gapwatch.pipeline", line_number=1,
                     line_contents="from gapwatch import pipeline")
    [cycle] = import_cycles(graph)
    # The graph had no cycle, so every cycle now runs through the added import.
    assert "gapwatch.spec -> gapwatch.pipeline   (line 1: from gapwatch import pipeline)" in cycle
    assert "  gapwatch.spec -> gapwatch.pipeline: line 1: from gapwatch import pipeline" in (
        core_imports_of_upper_layers(graph)
    )

    graph = build_graph(with_type_checking=True)
    graph.add_import(importer="gapwatch.window", imported="airflow", line_number=2,
                     line_contents="from airflow.sdk import Connection")
    graph.add_import(importer="gapwatch.outbox", imported="gapwatch.airflow.channels", line_number=3,
                     line_contents="from gapwatch.airflow import channels")
    assert airflow_imports_outside_adapter(graph) == [
        "  gapwatch.window -> airflow: line 2: from airflow.sdk import Connection"
    ]
    assert adapter_imports_from_below(graph) == [
        "  gapwatch.outbox -> gapwatch.airflow.channels: line 3: from gapwatch.airflow import channels"
    ]


def test_the_graph_counts_imports_inside_functions_and_skips_type_checking(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "archprobe"
    package.mkdir()
    for name in ("__init__", "typed_only", "deferred"):
        (package / f"{name}.py").write_text("", encoding="utf-8")
    (package / "user.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from archprobe import typed_only\n"
        "def later():\n"
        "    from archprobe import deferred\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    graph = build_graph("archprobe")
    assert graph.direct_import_exists(importer="archprobe.user", imported="archprobe.deferred")
    assert not graph.direct_import_exists(importer="archprobe.user", imported="archprobe.typed_only")
    typed = build_graph("archprobe", with_type_checking=True)
    assert typed.direct_import_exists(importer="archprobe.user", imported="archprobe.typed_only")


# ---------------------------------------------------------------- sizes


def python_files(root: Path = PACKAGE_DIR) -> list[Path]:
    return sorted(root.rglob("*.py"))


def module_name(path: Path, root: Path = PACKAGE_DIR) -> str:
    return ".".join(path.relative_to(root.parent).with_suffix("").parts)


def long_modules(root: Path = PACKAGE_DIR) -> dict[str, int]:
    """``{module: lines}`` for every module under ``root`` over the limit."""
    sizes = {module_name(p, root): len(p.read_text(encoding="utf-8").splitlines()) for p in python_files(root)}
    return {name: n for name, n in sizes.items() if n > MAX_MODULE_LINES}


def long_functions(root: Path = PACKAGE_DIR) -> dict[str, int]:
    """``{module.qualified_name: lines}`` for every function over the limit without a stated reason."""
    found: dict[str, int] = {}
    for path in python_files(root):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for qualname, node in _functions(tree, module_name(path, root)):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            reason = REASON_MARKER in (ast.get_docstring(node) or "")
            if length > MAX_FUNCTION_LINES and not reason:
                found[qualname] = length
    return found


def _functions(tree: ast.AST, prefix: str) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Every function and method, nested ones included, with a dotted qualified name."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            name = f"{prefix}.{node.name}"
            yield name, node
            yield from _functions(node, name)
        elif isinstance(node, ast.ClassDef):
            yield from _functions(node, f"{prefix}.{node.name}")
        else:
            yield from _functions(node, prefix)


def test_no_module_over_500_lines() -> None:
    over = {m: n for m, n in long_modules().items() if m not in KNOWN_LONG_MODULES}
    assert not over, f"modules over {MAX_MODULE_LINES} lines (split them): {over}"


def test_no_function_over_60_lines_without_a_reason() -> None:
    over = {f: n for f, n in long_functions().items() if f not in KNOWN_LONG_FUNCTIONS}
    assert not over, (
        f"functions over {MAX_FUNCTION_LINES} lines (shorten them, or say why in the docstring "
        f'with "{REASON_MARKER} ..."): {over}'
    )


def test_known_offenders_are_still_over_the_limit() -> None:
    fixed = (KNOWN_LONG_MODULES - set(long_modules())) | (KNOWN_LONG_FUNCTIONS - set(long_functions()))
    assert not fixed, f"now within the limits; remove from the KNOWN_LONG_* lists: {sorted(fixed)}"


@pytest.mark.parametrize(
    ("body_lines", "docstring", "flagged"),
    [(58, "Short.", False), (59, "Short.", True), (70, "Long: one table after another.", False)],
)
def test_the_size_check_counts_function_lines(
    tmp_path: Path, body_lines: int, docstring: str, flagged: bool
) -> None:
    """A method of 2 + ``body_lines`` lines: 60 pass, 61 fail unless the docstring says why."""
    package = tmp_path / PACKAGE
    (package / "sub").mkdir(parents=True)
    source = 'class Holder:\n    def method(self):\n        """' + docstring + '"""\n'
    source += "".join(f"        x{i} = {i}\n" for i in range(body_lines))
    (package / "sub" / "sample.py").write_text(source, encoding="utf-8")
    assert long_functions(package) == ({"gapwatch.sub.sample.Holder.method": 2 + body_lines} if flagged else {})


def test_the_size_check_counts_module_lines(tmp_path: Path) -> None:
    package = tmp_path / PACKAGE
    package.mkdir()
    (package / "ok.py").write_text("x = 1\n" * 500, encoding="utf-8")
    (package / "big.py").write_text("x = 1\n" * 501, encoding="utf-8")
    assert long_modules(package) == {"gapwatch.big": 501}
