"""Data Docs with no internet: every asset URL of GX's templates has a vendored file (recorded with
its hash and license), served pages keep no CDN URL, no inline script and no inline handler, and the
validation page puts failed expectations first."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from types import SimpleNamespace

import great_expectations
import pytest

from gapwatch.readiness import docs_offline as offline
from gapwatch.readiness.docs_render import TABLE_LEVEL, failed_first, section_order

VENDOR = Path(__file__).resolve().parents[2] / "plugins" / "gapwatch_health" / "static" / "vendor" / "datadocs"
GX_VIEW = Path(great_expectations.__file__).parent / "render" / "view"


def test_vendored_files_match_their_manifest_and_licenses() -> None:
    manifest = json.loads((VENDOR / "VENDORED.json").read_text())
    for name, entry in manifest.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == entry["sha256"], name
        if entry["package"] != "great_expectations":
            assert re.search(r"copyright|licen[cs]e", (VENDOR / entry["license"]).read_text(), re.I), name
    targets = {*offline.CDN_ASSETS.values(), "great_expectations/logo-long.png", "great_expectations/favicon.ico"}
    assert targets <= set(manifest), targets - set(manifest)
    # Font Awesome's stylesheet finds its fonts beside it (the Status column's icons)
    fonts = re.findall(r"url\(\.\./webfonts/([\w-]+\.woff2)\)", (VENDOR / "fontawesome-free/css/all.min.css").read_text())
    assert fonts and all(f"fontawesome-free/webfonts/{f}" in manifest for f in fonts)


def test_versions_are_the_ones_gx_references() -> None:
    manifest = json.loads((VENDOR / "VENDORED.json").read_text())
    for url, target in offline.CDN_ASSETS.items():
        version = manifest[target]["version"]
        pinned = re.search(r"@(\d[\w.]*)|/(\d+\.\d+\.\d+)/|-(\d+\.\d+\.\d+)\.min", url)
        assert pinned, url
        wanted = next(g for g in pinned.groups() if g)
        # a major-only pin (vega@5) is the newest release of that major, as the CDN serves it
        assert version == wanted or version.startswith(wanted + ".") or (
            target.startswith("bootstrap-table/") and wanted == "1.19.0"), (url, version)


@pytest.mark.parametrize("template", sorted(p.name for p in (GX_VIEW / "templates").glob("*.j2")))
def test_no_template_of_gx_loads_anything_from_elsewhere_once_rewritten(template: str) -> None:
    text = (GX_VIEW / "templates" / template).read_text()
    out = offline.offline_page(text, assets="/a", page_name="p.html", handlers="/h.js")
    assert offline.external_urls(out) == []


def test_gx_stylesheets_load_nothing_from_elsewhere() -> None:
    for css in (GX_VIEW / "static" / "styles").glob("*.css"):
        assert offline.external_urls(offline.offline_stylesheet(css.read_text(), assets="/a")) == [], css


PAGE = """<html><head>
<link rel="shortcut icon" href="static/images/favicon.ico" type="image/x-icon"/>
<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css"/>
<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>
<script type="application/json" id="data">{"a": 1}</script>
</head><body>
<img src="https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo-long.png?d=abc" />
<button class="btn" onclick="clearTableFilters('table-1')">Clear</button>
<label onclick="hideSucceededValidations()">Failed only</label>
<script>
  $('#t').bootstrapTable({data: [1, 2]});
</script>
<script type="text/javascript">var second = "</scr" + "ipt>";</script>
</body></html>"""


def test_a_page_is_rewritten_to_local_assets_and_no_inline_code() -> None:
    out = offline.offline_page(PAGE, assets="../static/vendor/datadocs", page_name="index.html", handlers="../h.js")
    assert offline.external_urls(out) == []
    assert 'href="../static/vendor/datadocs/bootstrap/bootstrap.min.css"' in out
    assert 'src="../static/vendor/datadocs/jquery/jquery.min.js"' in out
    assert 'src="../static/vendor/datadocs/great_expectations/logo-long.png"' in out
    assert 'href="../static/vendor/datadocs/great_expectations/favicon.ico"' in out
    # Neither inline script is one GX's templates write: both are dropped, never served as files
    # (a script that came from the data must not run under `script-src 'self'`).
    assert "bootstrapTable" not in out and "var second" not in out and ".inline-" not in out
    assert '<script type="application/json" id="data">{"a": 1}</script>' in out  # data, not code
    assert 'data-gw-call="clearTableFilters" data-gw-arg="table-1"' in out
    assert 'data-gw-call="hideSucceededValidations"' in out
    assert "onclick" not in out and '<script src="../h.js"></script></head>' in out
    assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", out)
    assert offline.inline_script(PAGE, 0) is None and offline.inline_script(PAGE, -1) is None


def _evr(success: bool, name: str) -> SimpleNamespace:
    return SimpleNamespace(success=success, name=name)


def test_failed_sections_and_expectations_come_first() -> None:
    columns = {
        TABLE_LEVEL: [_evr(True, "rows")],
        "age": [_evr(True, "a1")],
        "income": [_evr(True, "i1"), _evr(False, "i2"), _evr(True, "i3"), _evr(False, "i4")],
        "region": [_evr(False, "r1")],
    }
    assert section_order(columns, ["age", "income", "region"]) == ["income", "region", TABLE_LEVEL, "age"]
    assert [e.name for e in failed_first(columns["income"])] == ["i2", "i4", "i1", "i3"]
