"""A real readiness run's Data Docs pages, as Model Health serves them: failed expectations first,
every asset local, no inline script; the vendored files the page names all exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gapwatch.airflow.channels import default_senders
from gapwatch.demo.seed import FEED_BREAK_WINDOW, window_bounds
from gapwatch.pipeline import run_window
from gapwatch.readiness import docs_offline as offline
from gapwatch.readiness.docs import data_docs_dir
from gapwatch.spec import load_specs
from gapwatch.window import Window

pytestmark = pytest.mark.integration

STATIC = Path(__file__).resolve().parents[2] / "plugins" / "gapwatch_health" / "static"


def _section_titles(html: str) -> list[str]:
    titles = re.findall(r'<h5 class="m-0" >(.*?)</h5>', html, re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", t)).strip() for t in titles]


def test_feed_break_page_shows_the_failure_first_and_loads_only_local_files(demo_env: Path) -> None:
    spec = load_specs().by_name("credit_default")
    run_window(spec, Window(*window_bounds(FEED_BREAK_WINDOW)), senders=default_senders())
    site = data_docs_dir()
    (page,) = site.glob("validations/credit_default_inputs/*/*/credit_default.html")
    html = page.read_text()
    # GX would list Table-Level, then age, customer_email, ... utilization last
    assert _section_titles(html)[:3] == ["Overview", "utilization", "Table-Level Expectations"]
    assert html.index("fa-times") < html.index("fa-check-circle")

    for file in (page, site / "index.html"):
        depth = len(file.relative_to(site).parts)
        up = "../" * depth
        served = offline.offline_page(file.read_text(), assets=f"{up}static/vendor/datadocs",
                                      page_name=file.name, handlers=f"{up}static/datadocs.js")
        assert offline.external_urls(served) == [], file
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", served) and "onclick" not in served
        # every local file it names exists in the plugin's static folder (the route's root)
        for ref in re.findall(r'(?:src|href)="' + re.escape(up) + r'static/([^"?#]+)', served):
            assert (STATIC / ref).is_file(), ref
        scripts = re.findall(r'<script src="(' + re.escape(file.name) + r'\.inline-(\d+)\.js)"', served)
        assert all(offline.inline_script(file.read_text(), int(n)) for _, n in scripts)
        # GX's own page script (Show all / Failed only) is served as a file; GX's index is not
        # served at all (the plugin lists the validations a user may read), so its script may go.
        assert scripts or file.name == "index.html", file
