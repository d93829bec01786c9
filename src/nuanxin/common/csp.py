"""Content-Security-Policy on every response, from one middleware.

Pages run no inline script and no inline event handler: scripts are static files, and the
data they read travels in `<script type="application/json">` blocks (json_script) or
data-* attributes, which the browser never executes. So a name typed with markup cannot
run even where a template or a script forgets to escape it.

- img-src adds the origin of the map tiles (NUANXIN_TILE_URL); `{s}` subdomains become a
  wildcard.
- style-src allows inline styles: htmx, Leaflet and ECharts set them, and a style cannot
  run script.
- The Django admin and the API docs (Ninja's Swagger UI, served from Ninja's own static
  files, not a CDN) work under the same policy.

NUANXIN_CSP_REPORT_ONLY=1 sends the policy as Content-Security-Policy-Report-Only, for
trying a changed deployment (another tile host, a proxy that injects script) before
enforcing. Django 6 ships an equivalent middleware; this one goes when the project moves.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from django.conf import settings


def tile_source(tile_url: str) -> str | None:
    """'https://webrd0{s}.is.autonavi.com/appmaptile?…' → 'https://*.is.autonavi.com'."""
    parts = urlsplit(tile_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    labels = parts.hostname.split(".")
    templated = [i for i, label in enumerate(labels) if "{" in label]
    if templated:
        labels = ["*", *labels[templated[-1] + 1:]]
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{'.'.join(labels)}{port}"


@lru_cache(maxsize=8)
def policy(tile_url: str) -> str:
    images = ["'self'", "data:", "blob:"]
    tiles = tile_source(tile_url)
    if tiles:
        images.append(tiles)
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": images,
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        header = ("Content-Security-Policy-Report-Only"
                  if getattr(settings, "NUANXIN_CSP_REPORT_ONLY", False)
                  else "Content-Security-Policy")
        if header not in response:
            response[header] = policy(settings.NUANXIN_TILE_URL)
        return response
