"""GX Data Docs pages made to work with no internet and under a ``script-src 'self'`` policy.

GX's page templates load Bootstrap, jQuery, bootstrap-table, Font Awesome, Vega and more from
eight CDNs and the logo from S3: behind a firewall the page is unstyled, the Status column (Font
Awesome icons) is blank and the index, whose rows bootstrap-table draws from an inline script,
lists nothing. Model Health serves each page through :func:`offline_page`, which points every one
of those URLs at the copies vendored in the plugin (``static/vendor/datadocs``, with their
licenses and hashes in ``VENDORED.json``), and moves every inline script into a file of its own
served from the same path (``<page>.html.inline-<n>.js``, :func:`inline_script`), so the page
runs under a policy allowing only the plugin's own origin.

Done when the page is served, not when it is built: pages built before this existed are served
the same way, and the page files stay GX's own output.
"""

from __future__ import annotations

import hashlib
import re

# Every asset URL of GX's templates (great_expectations/render/view/templates/*.j2 and the
# default stylesheet), and the vendored file standing in for it. The filter-control stylesheet is
# referenced at 1.19.0 and the script at 1.19.1: both come from bootstrap-table 1.19.1.
CDN_ASSETS: dict[str, str] = {
    "https://cdn.jsdelivr.net/npm/vega@5": "vega/vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega-lite/vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega-embed/vega-embed.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": "fontawesome-free/css/all.min.css",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "popper.js/popper.min.js",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap/bootstrap.min.js",
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap/bootstrap.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "bootstrap-table/bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": "bootstrap-table/bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js":
        "bootstrap-table/bootstrap-table-filter-control.min.js",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css":
        "bootstrap-table/bootstrap-table-filter-control.min.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css":
        "bootstrap-table/bootstrap-table-filter-control.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js":
        "bootstrap-datepicker/bootstrap-datepicker.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css":
        "bootstrap-datepicker/bootstrap-datepicker.min.css",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css":
        "bootstrap-dark/bootstrap-prefers-dark.css",
}
_S3 = "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/"
# The navbar's logo (with a cache-busting query) and the dark theme's logo in GX's stylesheet.
_S3_IMAGE = re.compile(re.escape(_S3) + r"(logo-long\.png|full_logo_dark\.png)(\?[^\"')\s]*)?")
_URLS = re.compile("|".join(re.escape(url) for url in sorted(CDN_ASSETS, key=len, reverse=True)))
# A script element with a body and no src: <script> or <script type="text/javascript">.
_INLINE = re.compile(r"<script(?P<attrs>(?:(?!\bsrc\s*=)[^>])*)>(?P<body>.*?)</script>", re.S | re.I)
_TYPE = re.compile(r"""\btype\s*=\s*["']?([\w/+.-]*)""", re.I)
_JS_TYPES = {"", "text/javascript", "application/javascript", "module"}
INLINE_SUFFIX = ".inline-"
# GX's inline click handlers (Clear Filters, Show all / Failed only): a call with at most one
# quoted argument, kept as data attributes that the plugin's datadocs.js dispatches.
_ONCLICK = re.compile(r'\bonclick\s*=\s*"\s*(?P<fn>[A-Za-z_$][\w$]*)\((?:\'(?P<arg>[^\'"]*)\')?\)\s*;?\s*"')


def _handler_attrs(match: re.Match[str]) -> str:
    arg = match.group("arg")
    return f'data-gw-call="{match.group("fn")}"' + (f' data-gw-arg="{arg}"' if arg is not None else "")


# GX's favicon link climbs one folder too few on validation pages (a 404): the vendored copy.
_FAVICON = re.compile(r'href="[^"]*favicon\.ico"')


def _rewrite_urls(text: str, assets: str) -> str:
    text = _URLS.sub(lambda m: f"{assets}/{CDN_ASSETS[m.group(0)]}", text)
    text = _FAVICON.sub(f'href="{assets}/great_expectations/favicon.ico"', text)
    return _S3_IMAGE.sub(f"{assets}/great_expectations/logo-long.png", text)


# The inline scripts GX's own page templates write (GX 1.24: the "Show all / Failed only" functions
# of a validation page), by the sha256 of their stripped body. Only these are served as files: any
# other inline script in a page came from the data (a value or column name GX rendered unescaped,
# e.g. ``<script>alert(1)</script>``) or from a GX version not checked here, and is dropped, so the
# `script-src 'self'` policy cannot be sidestepped by moving a hostile script into a file.
GX_SCRIPTS = frozenset({"cab595324f9ef4308662e5b3fc5378f69bd55256dd6c32f182fc23ab00d33b9f"})


def _runnable_scripts(html: str) -> list[re.Match[str]]:
    """The inline script elements a browser would run (data blocks such as JSON are left)."""
    def runs(attrs: str) -> bool:
        declared = _TYPE.search(attrs)
        return (declared.group(1).lower() if declared else "") in _JS_TYPES

    return [m for m in _INLINE.finditer(html) if m.group("body").strip() and runs(m.group("attrs"))]


def _is_gx_script(match: re.Match[str]) -> bool:
    return hashlib.sha256(match.group("body").strip().encode()).hexdigest() in GX_SCRIPTS


def _inline_scripts(html: str) -> list[re.Match[str]]:
    """GX's own inline scripts of a page, in page order (the ones served as files)."""
    return [m for m in _runnable_scripts(html) if _is_gx_script(m)]


def offline_page(html: str, *, assets: str, page_name: str, handlers: str) -> str:
    """A Data Docs page with every CDN asset local and no inline script or click handler.

    Args:
        html: The page GX wrote.
        assets: The URL of the vendored folder, e.g. ``/gapwatch/health/static/vendor/datadocs``.
        page_name: The page's file name; its scripts are ``<page_name>.inline-<n>.js`` beside it.
        handlers: The URL of the script dispatching the page's ``data-gw-call`` clicks.

    Returns:
        The page to serve.
    """
    parts: list[str] = []
    last, n = 0, 0
    for match in _runnable_scripts(html):
        parts.append(html[last : match.start()])
        if _is_gx_script(match):  # GX's own: served as a file beside the page
            parts.append(f'<script src="{page_name}{INLINE_SUFFIX}{n}.js"></script>')
            n += 1
        last = match.end()  # anything else is dropped: it came from the data
    parts.append(html[last:])
    page = _ONCLICK.sub(_handler_attrs, "".join(parts))
    page = page.replace("</head>", f'<script src="{handlers}"></script></head>', 1)
    return _rewrite_urls(page, assets)


def inline_script(html: str, n: int) -> str | None:
    """The body of the page's ``n``-th inline script (as :func:`offline_page` numbered them)."""
    scripts = _inline_scripts(html)
    return scripts[n].group("body") if 0 <= n < len(scripts) else None


def offline_stylesheet(css: str, *, assets: str) -> str:
    """A stylesheet of the site (GX's default styles) with its S3 image pointed at the local copy."""
    return _rewrite_urls(css, assets)


def external_urls(text: str) -> list[str]:
    """The http(s) URLs a page would still load from elsewhere: ``src``/``href`` of scripts,
    stylesheets and images, and ``url(...)`` in styles (links people click are not loads)."""
    loads = re.findall(r"<(?:script|img|link)\b[^>]*?\b(?:src|href)\s*=\s*[\"'](https?://[^\"']+)", text, re.I)
    loads += re.findall(r"url\(\s*[\"']?(https?://[^\"')]+)", text, re.I)
    return loads
