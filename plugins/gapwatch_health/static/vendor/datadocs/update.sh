#!/usr/bin/env bash
# Refresh the CSS/JS/fonts GX's Data Docs pages load from CDNs, so the pages work with no internet
# (gapwatch.readiness.docs_offline rewrites each CDN URL to the file here). `npm pack` checks the
# registry's integrity hash; VENDORED.json records each file's package, version, license and sha256
# (tests/unit/test_data_docs_offline.py checks the files against it). The versions are the ones the
# GX templates reference (great_expectations/render/view/templates/*.j2): check them after a GX
# upgrade, and for `@5`-style ranges the newest matching release (what the CDN serves).
#   usage: update.sh  (needs npm and python3; writes into this folder)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
gx_static="${GX_STATIC:-$(python3 -c 'import great_expectations, os; print(os.path.join(os.path.dirname(great_expectations.__file__), "render/view/static"))')}"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
cd "$work"
pkgs=(bootstrap@4.3.1 jquery@3.7.1 popper.js@1.12.9 bootstrap-table@1.19.1 bootstrap-datepicker@1.9.0
      @forevolve/bootstrap-dark@1.1.0 @fortawesome/fontawesome-free@6.6.0 vega@5 vega-lite@5 vega-embed@6)
npm pack --silent --json "${pkgs[@]}" > packed.json
python3 - "$here" "$gx_static" <<'PY'
import hashlib, json, pathlib, shutil, sys, tarfile
here, gx_static = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
packed = {p["name"]: p for p in json.load(open("packed.json"))}
# package -> [(file in the package, where it goes here)], and its license file
files = {
    "bootstrap": [("dist/css/bootstrap.min.css", "bootstrap/bootstrap.min.css"),
                  ("dist/js/bootstrap.min.js", "bootstrap/bootstrap.min.js")],
    "jquery": [("dist/jquery.min.js", "jquery/jquery.min.js")],
    "popper.js": [("dist/umd/popper.min.js", "popper.js/popper.min.js")],
    "bootstrap-table": [
        ("dist/bootstrap-table.min.css", "bootstrap-table/bootstrap-table.min.css"),
        ("dist/bootstrap-table.min.js", "bootstrap-table/bootstrap-table.min.js"),
        ("dist/extensions/filter-control/bootstrap-table-filter-control.min.css",
         "bootstrap-table/bootstrap-table-filter-control.min.css"),
        ("dist/extensions/filter-control/bootstrap-table-filter-control.min.js",
         "bootstrap-table/bootstrap-table-filter-control.min.js")],
    "bootstrap-datepicker": [("dist/css/bootstrap-datepicker.min.css", "bootstrap-datepicker/bootstrap-datepicker.min.css"),
                             ("dist/js/bootstrap-datepicker.min.js", "bootstrap-datepicker/bootstrap-datepicker.min.js")],
    "@forevolve/bootstrap-dark": [("dist/css/bootstrap-prefers-dark.css", "bootstrap-dark/bootstrap-prefers-dark.css")],
    "@fortawesome/fontawesome-free": [("css/all.min.css", "fontawesome-free/css/all.min.css")] + [
        (f"webfonts/{f}.woff2", f"fontawesome-free/webfonts/{f}.woff2")
        for f in ("fa-brands-400", "fa-regular-400", "fa-solid-900", "fa-v4compatibility")],
    "vega": [("build/vega.min.js", "vega/vega.min.js")],
    "vega-lite": [("build/vega-lite.min.js", "vega-lite/vega-lite.min.js")],
    "vega-embed": [("build/vega-embed.min.js", "vega-embed/vega-embed.min.js")],
}
licenses = ("LICENSE", "LICENSE.txt", "LICENSE.md")
manifest = {}
for name, wanted in files.items():
    info = packed[name]
    with tarfile.open(info["filename"]) as tar:
        members = {m.name.removeprefix("package/"): m for m in tar.getmembers()}
        folder = here / wanted[0][1].split("/")[0]
        if folder.exists():
            shutil.rmtree(folder)
        lic = next((l for l in licenses if l in members), None)
        if lic:
            text = tar.extractfile(members[lic]).read()
        else:  # popper.js 1.12.9 ships no license file; its header states the MIT license
            text = b"MIT License\n\nCopyright (C) Federico Zivolo 2017\n\n" + pathlib.Path(
                here / "MIT.txt").read_bytes()
        folder.mkdir(parents=True)
        (folder / "LICENSE").write_bytes(text)
        for source, target in wanted:
            data = tar.extractfile(members[source]).read()
            (here / target).parent.mkdir(parents=True, exist_ok=True)
            (here / target).write_bytes(data)
            manifest[target] = {"package": name, "version": info["version"],
                                "license": f"{folder.name}/LICENSE",
                                "sha256": hashlib.sha256(data).hexdigest()}
# The GX logo the navbar loads from S3, from the installed GX package (Apache-2.0, as GX).
import great_expectations
gx = here / "great_expectations"
gx.mkdir(exist_ok=True)
for image in ("logo-long.png", "favicon.ico"):
    data = (gx_static / "images" / image).read_bytes()
    (gx / image).write_bytes(data)
    manifest[f"great_expectations/{image}"] = {
        "package": "great_expectations", "version": great_expectations.__version__,
        "license": "Apache-2.0 (the great_expectations Python package)",
        "sha256": hashlib.sha256(data).hexdigest()}
json.dump(dict(sorted(manifest.items())), open(here / "VENDORED.json", "w"), indent=2)
print(f"{len(manifest)} files vendored")
PY
