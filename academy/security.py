"""HTTP security headers and cookie settings (OWASP secure headers).

* Content-Security-Policy without inline scripts: scripts only from this site's /static/js.
  Inline *styles* are allowed (``style-src 'unsafe-inline'``) for server-drawn SVG charts and
  progress bars; they cannot run code.
* ``frame-ancestors 'none'`` (and X-Frame-Options) against click-jacking; a strict referrer policy;
  no MIME sniffing; HSTS only on https requests (behind a proxy set ``ACADEMY_PROXY_FIX=1`` so
  Flask sees the original scheme).
"""

from __future__ import annotations

import os

from flask import Flask, request

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def init_security(app: Flask) -> None:
    """Add security headers to every response; configure proxies and secure cookies."""
    if os.environ.get("ACADEMY_PROXY_FIX") == "1":
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    secure = os.environ.get("ACADEMY_SECURE_COOKIES")
    if secure == "1" or (secure is None and app.config.get("ACADEMY_BASE_URL", "").startswith("https://")):
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True

    @app.after_request
    def set_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        # static files: cache headers come from SEND_FILE_MAX_AGE_DEFAULT (see register_compression)
        if request.endpoint != "static" and "Cache-Control" not in headers and response.mimetype == "text/html":
            headers["Cache-Control"] = "no-store" if _is_private() else "no-cache"
        return response


def _is_private() -> bool:
    from flask_login import current_user

    return bool(getattr(current_user, "is_authenticated", False))
