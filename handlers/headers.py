"""Security headers on every response: what a browser may do with what the service sends.

- `X-Content-Type-Options: nosniff`: a reply is what its Content-Type says, never sniffed
  into HTML or script.
- No framing by other sites (`X-Frame-Options: DENY`, CSP `frame-ancestors 'none'`): no
  clickjacking of 立即购买 or 解除绑定.
- `Referrer-Policy: same-origin`: a verification page's secret URL (/verify/<code>) or a
  page's query never leaves in a Referer to another site; the CSRF check still gets the
  Referer of our own pages.
- A Content-Security-Policy: scripts only from this origin's files (no inline script, no
  eval), so injected markup cannot run; styles may be inline (the pages set widths of
  progress bars), media may come from the catalogue's https CDN. The sandbox's own pages
  (development only, never mounted in production) keep their small inline scripts and
  may be framed by our own pages.

- `Cache-Control: private, no-store` on what belongs to one person (every `/api/` reply,
  the certificate's print page) unless the view says otherwise: on a unit's shared PC the
  next person's Back button or history must not bring back a trainee's name, ID number or
  certificate after they logged out. The H5 pages' shells hold no personal data, but the
  page each becomes does: they are `no-store` too (handlers/h5.py).
- `Cache-Control: no-cache` on a certificate's public verification page (/verify/<code>):
  whoever scans the QR code may be behind a shared cache, which must ask again each time,
  so a certificate revoked after a refund never shows 有效 from a stored copy.

The beacon endpoint answers outside Flask (handlers/beacons.py) with `BEACON_HEADERS` (a
POST's reply, which browsers do not keep).
"""

from __future__ import annotations

from flask import Flask, Response, request

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "media-src 'self' https: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# The sandbox's pages keep their inline scripts, and its cashier is framed by our own pages
# (it plays WeChat's pay sheet over the H5 page).
SANDBOX_CSP = CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'").replace(
    "frame-ancestors 'none'", "frame-ancestors 'self'"
)

COMMON = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
# JSON replies load nothing: the strictest policy.
API_CSP = "default-src 'none'; frame-ancestors 'none'"
BEACON_HEADERS = [*COMMON.items(), ("Content-Security-Policy", API_CSP)]


PRIVATE = "private, no-store"
PRIVATE_PREFIXES = ("/api/", "/certificates/")


def policy_for(path: str) -> str:
    if path.startswith("/_sandbox/"):
        return SANDBOX_CSP
    if path.startswith("/api/"):
        return API_CSP
    return CSP


def install(app: Flask) -> None:
    @app.after_request
    def _security_headers(response: Response) -> Response:
        for name, value in COMMON.items():
            response.headers.setdefault(name, value)
        if request.path.startswith("/_sandbox/"):
            response.headers["X-Frame-Options"] = "SAMEORIGIN"
        response.headers.setdefault("Content-Security-Policy", policy_for(request.path))
        if request.path.startswith(PRIVATE_PREFIXES):
            response.headers.setdefault("Cache-Control", PRIVATE)
        elif request.path.startswith("/verify/"):
            response.headers.setdefault("Cache-Control", "no-cache")
        return response
