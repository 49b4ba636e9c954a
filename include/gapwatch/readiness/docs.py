"""GX Data Docs for readiness validations: one HTML page per (monitor, window), plus an index.

Stewards read validations the way GX shows them: the pages are rendered by GX's own
``SiteBuilder`` (validation page renderer, site index builder). Each validation result is
written to a filesystem validation-results store under ``$GAPWATCH_HOME/gx`` so the index
lists every validation ever built, then GX renders that one page and the index into the
Data Docs folder (``$GAPWATCH_DATA_DOCS_DIR``, default ``$GAPWATCH_HOME/data_docs``).

The context is an ephemeral one configured with filesystem stores, not a file-backed
project: nothing writes ``great_expectations.yml``, so two Airflow tasks building pages at
the same time cannot race on a project config file. The result handed in has already had
every PII value removed (:func:`gapwatch.readiness.suite.validate_suite` scrubs it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from gapwatch import config

_SITE = "gapwatch"
# Where the Model Health plugin (plugins/gapwatch_health_plugin.py) serves the site, under the
# Airflow UI's address: behind Airflow's login, unlike a file:// path on a worker.
SERVED_PREFIX = "data-docs/"
HEALTH_MOUNT = "/gapwatch/health"


@dataclass(frozen=True)
class DataDocsPage:
    """Where a validation's Data Docs page was written.

    Attributes:
        path: The page's absolute file path.
        url: Its ``file://`` URL (what GX reports and messages link to).
    """

    path: Path
    url: str


def data_docs_dir() -> Path:
    """The Data Docs site folder (``$GAPWATCH_DATA_DOCS_DIR`` or ``$GAPWATCH_HOME/data_docs``)."""
    return config.settings().data_docs_dir


def _gx_dir() -> Path:
    return (config.settings().home / "gx").resolve()


def data_docs_link(path: str | None, *, absolute: bool = False) -> str | None:
    """Where people open a validation's Data Docs page: the one link builder for pages and messages.

    A web URL is kept as it is. A file of the Data Docs site (a ``file://`` URL, an absolute
    path, or a path relative to ``GAPWATCH_HOME``) becomes ``data-docs/<path in the site>``, the
    page Model Health serves behind Airflow's login (relative to Model Health's own pages); with
    ``absolute`` it is the full address under the Airflow UI (``GAPWATCH_AIRFLOW_URL``), for
    messages read outside Airflow. Any other file is None: the plugin serves the site only.

    Args:
        path: ``validations.data_docs_path`` or the ``data_docs_url`` GX reported.
        absolute: Prefix the Airflow UI's address and the plugin's mount.

    Returns:
        The link, or None when there is nothing (allowed) to link to.
    """
    if not path:
        return None
    if path.startswith(("http://", "https://")):
        return path
    settings = config.settings()
    local = Path(path.removeprefix("file://"))
    full = (local if local.is_absolute() else settings.home.resolve() / local).resolve()
    site = settings.data_docs_dir
    if not full.is_relative_to(site):
        return None
    served = SERVED_PREFIX + quote(full.relative_to(site).as_posix())
    return f"{settings.airflow_url}{HEALTH_MOUNT}/{served}" if absolute else served


def validation_folders() -> tuple[Path, Path]:
    """Where validations are kept: the Data Docs pages, and GX's stored validation results (what
    the site index is built from); ``gapwatch.retention`` prunes both."""
    return data_docs_dir() / "validations", _gx_dir() / "uncommitted" / "validations"


def _context() -> Any:
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        FilesystemStoreBackendDefaults,
        ProgressBarsConfig,
    )

    site = {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "store_backend": {
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(data_docs_dir()),
        },
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        # Failed expectations first (gapwatch.readiness.docs_render); the other sections keep GX's.
        "site_section_builders": {
            "validations": {
                "renderer": {
                    "module_name": "gapwatch.readiness.docs_render",
                    "class_name": "FailedFirstValidationResultsPageRenderer",
                }
            }
        },
    }
    return gx.get_context(
        mode="ephemeral",
        project_config=DataContextConfig(
            store_backend_defaults=FilesystemStoreBackendDefaults(root_directory=str(_gx_dir())),
            data_docs_sites={_SITE: site},
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
        ),
    )


def build_page(monitor: str, window_key: str, window_start: datetime, gx_result: Any) -> DataDocsPage:
    """Store one validation result and render its Data Docs page and the site index.

    Idempotent: a rerun of the same window overwrites the same page.

    Args:
        monitor: The monitor name (the page's batch identifier).
        window_key: The window's key, e.g. ``2026-02-02T000000Z`` (the GX run name).
        window_start: The window's start (the GX run time).
        gx_result: GX's ``ExpectationSuiteValidationResult``, PII already scrubbed.

    Returns:
        The page's path and URL.
    """
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    context = _context()
    suite_name = gx_result.suite_name
    key = ValidationResultIdentifier(
        expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite_name),
        run_id=RunIdentifier(run_name=window_key, run_time=window_start),
        batch_identifier=monitor,
    )
    # The batch spec quotes the window query; the page needs only what was validated.
    meta = dict(gx_result.meta or {})
    gx_result.meta = {
        "great_expectations_version": meta.get("great_expectations_version"),
        "run_id": key.run_id,
        "active_batch_definition": meta.get("active_batch_definition"),
        "validation_id": f"{monitor}/{window_key}",
    }
    for res in gx_result.results:
        result = res.result or {}
        # GX's page renderer reads unexpected_percent whenever unexpected_count is set, but
        # aggregate expectations (e.g. distinct values in set) give a count without a percent;
        # their observed value is what the page shows, so the bare count is left out.
        if result.get("unexpected_count") and result.get("unexpected_percent") is None:
            result.pop("unexpected_count")
    context.validation_results_store.set(key, gx_result)
    context.build_data_docs(site_names=[_SITE], resource_identifiers=[key])
    url = context.get_docs_sites_urls(resource_identifier=key, site_name=_SITE)[0]["site_url"]
    path = Path(url.removeprefix("file://"))
    return DataDocsPage(path=path, url=url)
