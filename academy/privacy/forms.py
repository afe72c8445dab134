"""Privacy forms: shape of the input only (rules in privacy/services.py)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class UnmaskForm(FlaskForm):
    """The "查看完整信息" button, with an optional note of why (kept in the audit log)."""

    reason = StringField(_l("查看原因（可不填）"), validators=[Optional(), Length(max=100)])


class ExportForm(FlaskForm):
    """Download one person's data as Excel or JSON."""

    fmt = RadioField(_l("格式"), choices=[("xlsx", _l("Excel 表格")), ("json", _l("JSON（机器可读）"))],
                     default="xlsx", validators=[DataRequired()])


class AnonymiseForm(FlaskForm):
    """Anonymise an account: a reason and an explicit confirmation."""

    reason = TextAreaField(_l("注销原因"), validators=[DataRequired(_l("请写明注销原因")), Length(max=500)],
                           render_kw={"rows": 3, "placeholder": _l("如：本人于 3 月 5 日书面申请删除个人信息")})
    confirm = BooleanField(_l("我已确认：此操作不能撤销，姓名、手机号、身份证号等将被永久删除"),
                           validators=[DataRequired(_l("请勾选确认"))])
