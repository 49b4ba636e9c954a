"""One monitor run over one window, as its stages share it within a process.

A run's stages read the same things: the window's extract (readiness, the estimate in
performance, drift), the cohort, the baseline summary, the source connection. A
:class:`WindowRun` reads each of them at most once: the source URL is resolved once
(:class:`gapwatch.sources.Source`), each extract file is loaded once (kept with the file's
modification time and size, so a rewritten file is read again), the baseline summary once.

How stages find it: ``window_run(spec, window)`` keeps the last few runs of the process, keyed
on the spec object and the window. The CLI (``pipeline.run_window``) and ``dag.test()`` run every
stage in one process, so they share one run; in a distributed deployment each task is its own
process and reads only what it needs, once. ``extract_window`` starts a new run
(``window_run(..., new=True)``), so a rerun of a window resolves its source again and sees the
files it wrote.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gapwatch import baseline, config, sources

if TYPE_CHECKING:
    import pandas as pd

    from gapwatch.spec import MonitorSpec
    from gapwatch.window import Window

# A run's frames stay in memory while it is kept: two runs cover the demo's two monitors per
# window and the parallel stages of one run, and bound what a long-lived process holds.
KEEP_RUNS = 2


class WindowRun:
    """The spec, the window, the resolved source and what the stages loaded.

    Thread-safe: ``evaluate_performance`` and ``evaluate_drift`` may share one at once.
    """

    def __init__(self, spec: MonitorSpec, window: Window) -> None:
        self.spec = spec
        self.window = window
        self.source = sources.Source(spec)
        self._lock = threading.Lock()
        self._baseline_lock = threading.Lock()  # held while loading: a frame read need not wait
        self._loading: dict[str, threading.Lock] = {}
        self._frames: dict[str, tuple[tuple[Path, int, int], pd.DataFrame]] = {}
        self._baseline: dict[str, Any] | None = None

    @property
    def folder(self) -> Path:
        """The run-scoped folder of the window's files, created on first use."""
        path = config.settings().runs_dir / self.spec.name / self.window.key
        path.mkdir(parents=True, exist_ok=True)
        return path

    def path(self, name: str) -> Path:
        """Where the extract ``name`` (``window``, ``cohort``) is written."""
        return self.folder / f"{name}.parquet"

    def frame(self, name: str) -> pd.DataFrame:
        """The extract ``name``, read from its Parquet file once while the file is unchanged.

        Each caller gets its own shallow copy: pandas copies on write, so a stage that changes
        its frame never changes what the next stage is given.
        """
        import pandas as pd

        with self._lock:
            loading = self._loading.setdefault(name, threading.Lock())
        with loading:  # two stages asking at once: one reads, the other waits for it
            path = self.path(name)
            try:
                stat = path.stat()
            except FileNotFoundError:
                raise FileNotFoundError(f"{path} is missing: run extract_window for this window first") from None
            version = (path, stat.st_mtime_ns, stat.st_size)
            kept = self._frames.get(name)
            if kept is None or kept[0] != version:
                kept = (version, pd.read_parquet(path))
                self._frames[name] = kept
        return kept[1].copy(deep=False)

    def ensure_baseline(self) -> dict[str, Any]:
        """The baseline summary, computed and stored first if needed (the readiness stage)."""
        with self._baseline_lock:
            if self._baseline is None:
                self._baseline = baseline.ensure(self.spec, self.source)
            return self._baseline

    def baseline(self) -> dict[str, Any]:
        """The baseline summary, loaded once for this run (the performance and drift stages)."""
        with self._baseline_lock:
            if self._baseline is None:
                self._baseline = baseline.load(self.spec, self.source)
            return self._baseline


_runs: OrderedDict[tuple[int, Window], WindowRun] = OrderedDict()
_runs_lock = threading.Lock()


def window_run(spec: MonitorSpec, window: Window, *, new: bool = False) -> WindowRun:
    """The process's run of ``spec`` over ``window``; ``new`` starts a fresh one (extraction does).

    Keyed on the spec object, not its name: a run keeps its spec, so the id cannot be reused by
    another spec while the run is kept, and an edited spec (a new object) gets a run of its own.
    """
    key = (id(spec), window)
    with _runs_lock:
        run = None if new else _runs.get(key)
        if run is None or run.spec is not spec:
            run = WindowRun(spec, window)
        _runs[key] = run
        _runs.move_to_end(key)
        while len(_runs) > KEEP_RUNS:
            _runs.popitem(last=False)
        return run
