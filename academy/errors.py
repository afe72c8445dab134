"""Domain errors raised by services, and the HTTP error pages.

Services raise ``DomainError`` subclasses with a message a user can act on; views catch them
and show the message (flash or form error). Nothing here touches the database.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, render_template, request
from flask_babel import gettext as _


class DomainError(Exception):
    """A business rule refused the operation; ``str(err)`` is shown to the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    """The object does not exist or is not visible to the actor."""


class PermissionDenied(DomainError):
    """The actor may not perform the operation."""


class Conflict(DomainError):
    """The operation conflicts with the current state (already done, full, closed…)."""


@dataclass(frozen=True)
class RowError:
    """One problem in an uploaded file: 1-based spreadsheet row, column header, reason."""

    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return _("第 %(row)s 行，%(column)s：%(message)s", row=self.row, column=self.column, message=self.message)


class ValidationFailed(DomainError):
    """Input failed validation; ``errors`` lists every problem (nothing was written)."""

    def __init__(self, message: str, errors: list[RowError] | None = None):
        super().__init__(message)
        self.errors = errors or []


def register_error_handlers(app: Flask) -> None:
    """Render friendly pages for 400/403/404/405/413/429/500."""

    def render(code: int, title: str, text: str):
        if request.accept_mimetypes.best == "application/json":
            return {"error": title}, code
        return render_template("errors/error.html", code=code, title=title, text=text), code

    @app.errorhandler(400)
    def bad_request(e):
        desc = getattr(e, "description", "") or ""
        if "CSRF" in desc:
            return render(400, _("页面已过期"), _("页面停留太久或在别处打开过，请返回上一页刷新后再提交。"))
        return render(400, _("请求有误"), _("提交的内容不完整，请返回重试。"))

    @app.errorhandler(403)
    def forbidden(e):
        return render(403, _("没有权限"), _("您的账号不能访问这个页面。"))

    @app.errorhandler(404)
    def not_found(e):
        return render(404, _("页面不存在"), _("找不到这个页面，可能链接有误或内容已删除。"))

    @app.errorhandler(405)
    def method_not_allowed(e):
        return render(405, _("操作方式不对"), _("请从页面上的按钮进行操作。"))

    @app.errorhandler(413)
    def too_large(e):
        return render(413, _("文件太大"), _("上传的文件超过了大小限制。"))

    @app.errorhandler(429)
    def too_many(e):
        return render(429, _("操作太频繁"), _("请稍等一分钟后再试。"))

    @app.errorhandler(500)
    def server_error(e):
        return render(500, _("系统出错了"), _("请稍后再试；如果一直出错，请联系学院工作人员。"))
