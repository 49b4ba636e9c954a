"""The vendored Vega builds the Model Health page loads: the ones recorded, untouched, and on the
Vega-Lite version altair writes specs for (a mismatch draws nothing or draws wrongly)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import altair as alt

VENDOR = Path(__file__).resolve().parents[2] / "plugins" / "gapwatch_health" / "static" / "vendor"


def test_vendored_files_match_their_manifest_and_licenses() -> None:
    manifest = json.loads((VENDOR / "VENDORED.json").read_text())
    assert set(manifest) == {"vega.min.js", "vega-lite.min.js", "vega-embed.min.js"}
    for name, entry in manifest.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == entry["sha256"], name
        assert "Copyright" in (VENDOR / entry["license"]).read_text()


def test_versions_fit_what_altair_generates() -> None:
    manifest = json.loads((VENDOR / "VENDORED.json").read_text())
    lite = manifest["vega-lite.min.js"]["version"]
    assert lite == alt.VEGALITE_VERSION.lstrip("v")
    assert manifest["vega.min.js"]["version"].split(".")[0] == alt.VEGA_VERSION.lstrip("v").split(".")[0]
    assert manifest["vega-embed.min.js"]["version"].split(".")[0] == alt.VEGAEMBED_VERSION.lstrip("v").split(".")[0]
    # The build itself says which version it is (the manifest cannot drift from the file).
    assert re.search(rf'"{re.escape(lite)}"', (VENDOR / "vega-lite.min.js").read_text()[:2000])
