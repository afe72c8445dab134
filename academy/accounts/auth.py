"""Flask-Login wiring: the session loader and the anonymous visitor."""

from __future__ import annotations

from flask import Flask
from flask_babel import gettext
from flask_login import AnonymousUserMixin, LoginManager

from academy.i18n import N_


class AnonymousVisitor(AnonymousUserMixin):
    """A visitor who is not signed in: holds no role."""

    id = None
    name = ""
    is_admin = is_instructor = is_learner = is_staff = False

    def has_role(self, *roles) -> bool:
        return False


def init_login(app: Flask, login_manager: LoginManager) -> None:
    """Configure Flask-Login: login view, messages, loader keyed by id and session version."""
    from academy.accounts.services import load_session_user

    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = N_("请先登录")
    login_manager.localize_callback = gettext  # shown in the visitor's language
    login_manager.login_message_category = "info"
    login_manager.anonymous_user = AnonymousVisitor
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_session_user)
