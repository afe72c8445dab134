"""The factory, configuration and site-wide endpoints."""

from academy import create_app
from academy.config import Config, load_or_create_secret, normalise_database_url


def test_factory_uses_test_config(app):
    assert app.config["TESTING"] is True
    assert app.config["BABEL_DEFAULT_LOCALE"] == "zh_CN"
    assert app.config["TIMEZONE"] == "Asia/Shanghai"


def test_secret_key_is_generated_once_into_instance(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)

    class C(Config):
        INSTANCE_PATH = tmp_path

    first = create_app(C)
    second = create_app(C)
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert len(first.config["SECRET_KEY"]) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert first.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'academy.db'}"
    assert load_or_create_secret(tmp_path) == first.config["SECRET_KEY"]


def test_database_url_from_environment_uses_psycopg(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db.example:5432/academy")

    class C(Config):
        INSTANCE_PATH = tmp_path

    assert create_app(C).config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db.example:5432/academy"
    assert normalise_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_health_and_readiness(client):
    assert client.get("/healthz").json["status"] == "ok"
    assert client.get("/readyz").json == {"status": "ok"}


def test_language_switch_sets_cookie_and_stays_inside_site(client):
    from tests.conftest import post

    response = post(client, "/language", {"lang": "en", "next": "https://evil.example/"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "lang=en" in response.headers["Set-Cookie"]
    page = client.get("/courses/").get_data(as_text=True)
    assert 'lang="en"' in page


def test_help_page_explains_sign_in_and_check_in_without_touching_the_database(client, app):
    from sqlalchemy import event

    from academy.extensions import db

    statements = []

    def count(*args):
        statements.append(args[2])

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        page = client.get("/help")
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "身份证号后 6 位" in text and "6 位数字签到码" in text
    assert 'href="/attendance/code"' in text and 'href="/verify"' in text
    assert statements == []
