"""HTTP security headers and cookie settings (OWASP secure headers).

* Content-Security-Policy without inline scripts: scripts only from this site's /static/js.
  Inline *styles* are allowed (``style-src 'unsafe-inline'``) for server-drawn SVG charts and
  progress bars; they cannot run code.
* ``frame-ancestors 'none'`` (and X-Frame-Options) against click-jacking; a strict referrer policy;
  no MIME sniffing; HSTS only on https requests (behind a proxy set ``ACADEMY_PROXY_FIX=1`` so
  Flask sees the original scheme).
* Static files never carry the session (``StaticFilesSessionInterface``): no Set-Cookie and no
  ``Vary: Cookie``, so browsers keep them cached whatever happens to the session cookie.
"""

from __future__ import annotations

import os

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


class StaticFilesSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, left out of static-file responses.

    Flask adds ``Vary: Cookie`` to any response whose request looked at the session, and
    Flask-Login's after-request hook looks at it on every request, /static included. Browsers
    key their HTTP cache on varied headers, so each time the session cookie changed (a flash
    message, a check-in scan, signing in) Chromium revalidated site.css — one more round trip
    before the first paint — although static files never depend on the session. A static
    response whose request changed nothing in the session is therefore sent without
    Set-Cookie and without ``Vary: Cookie``; every other response is saved as Flask does.
    """

    def save_session(self, app, session, response) -> None:
        """Save ``session`` on ``response`` unless this is an untouched static-file response."""
        if request.endpoint == "static" and not session.modified:
            return None
        return super().save_session(app, session, response)


def init_security(app: Flask) -> None:
    """Add security headers to every response; configure proxies, secure cookies and the session
    interface (``StaticFilesSessionInterface``)."""
    app.session_interface = StaticFilesSessionInterface()
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
    """True when the request's session names a signed-in person (Flask-Login's ``_user_id``).

    Read from the signed session rather than from ``current_user``: after a view commits, the
    user row is expired and asking it ``is_authenticated`` would cost a fresh transaction and a
    query on every form post (a check-in tap among them). A session naming a user whose login
    is no longer valid is treated as private too, which only makes the header stricter.
    """
    from flask import session

    return session.get("_user_id") is not None
