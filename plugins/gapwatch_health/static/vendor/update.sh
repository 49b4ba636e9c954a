#!/usr/bin/env bash
# Refresh the vendored Vega / Vega-Lite / vega-embed builds from the npm registry (`npm pack`, which
# checks the registry's integrity hash) and rewrite VENDORED.json. The page must draw charts with no
# internet at run time, so these files are committed; run this only to upgrade, keeping Vega-Lite
# on the version altair generates specs for (tests/unit/test_vendored_vega.py checks it).
#   usage: update.sh [VEGA_VERSION VEGA_LITE_VERSION VEGA_EMBED_VERSION]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
vega="${1:-6.4.0}"; lite="${2:-6.4.1}"; embed="${3:-7.3.0}"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "vega@$vega" "vega-lite@$lite" "vega-embed@$embed" >/dev/null
for pkg in "vega-$vega" "vega-lite-$lite" "vega-embed-$embed"; do
  mkdir "$pkg" && tar xzf "$pkg.tgz" -C "$pkg"
done
cp "vega-$vega/package/build/vega.min.js" "vega-lite-$lite/package/build/vega-lite.min.js" \
   "vega-embed-$embed/package/build/vega-embed.min.js" "$here/"
cp "vega-$vega/package/LICENSE" "$here/LICENSE.vega"
cp "vega-lite-$lite/package/LICENSE" "$here/LICENSE.vega-lite"
cp "vega-embed-$embed/package/LICENSE" "$here/LICENSE.vega-embed"
cd "$here"
python3 - "$vega" "$lite" "$embed" <<'PY'
import hashlib, json, sys
vega, lite, embed = sys.argv[1:]
files = {"vega.min.js": ("vega", vega), "vega-lite.min.js": ("vega-lite", lite),
         "vega-embed.min.js": ("vega-embed", embed)}
manifest = {name: {"package": pkg, "version": ver, "license": f"LICENSE.{pkg}",
                   "sha256": hashlib.sha256(open(name, "rb").read()).hexdigest()}
            for name, (pkg, ver) in files.items()}
json.dump(manifest, open("VENDORED.json", "w"), indent=2)
print(json.dumps(manifest, indent=2))
PY
