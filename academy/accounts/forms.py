"""Account forms: shape of the input only; rules live in accounts.services."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from academy.accounts.models import DISTRICTS, EDUCATION_LEVELS, OCCUPATION_GROUPS, POLITICAL_STATUSES


def _choices(values: tuple[str, ...]) -> list[tuple[str, str]]:
    return [("", "请选择")] + [(v, v) for v in values]


class LoginForm(FlaskForm):
    """Sign in with mobile number and password."""

    mobile = StringField("手机号", validators=[DataRequired("请输入手机号")],
                         render_kw={"inputmode": "tel", "autocomplete": "username"})
    password = PasswordField("密码", validators=[DataRequired("请输入密码")],
                             render_kw={"autocomplete": "current-password"})
    remember = BooleanField("记住我（30天内免登录）")


class ProfileFieldsMixin:
    """Optional profile fields shared by registration and the profile page."""

    id_number = StringField("身份证号（选填，领证和补贴需要）", validators=[Optional(), Length(max=24)],
                            render_kw={"autocomplete": "off", "inputmode": "text"})
    district = SelectField("所在县（市、区）", choices=_choices(DISTRICTS), validators=[Optional()])
    occupation_group = SelectField("从业类型", choices=_choices(OCCUPATION_GROUPS), validators=[Optional()])
    platform = StringField("所属平台/企业", validators=[Optional(), Length(max=60)],
                           render_kw={"placeholder": "如：美团、顺丰、滴滴"})
    education = SelectField("文化程度", choices=_choices(EDUCATION_LEVELS), validators=[Optional()])
    political_status = SelectField("政治面貌", choices=_choices(POLITICAL_STATUSES), validators=[Optional()])


class RegisterForm(ProfileFieldsMixin, FlaskForm):
    """Learner self-registration."""

    mobile = StringField("手机号", validators=[DataRequired("请输入手机号")],
                         render_kw={"inputmode": "tel", "autocomplete": "tel"})
    name = StringField("真实姓名", validators=[DataRequired("请输入姓名"), Length(max=30)],
                       render_kw={"autocomplete": "name"})
    password = PasswordField("设置密码（至少8位，含字母和数字）", validators=[DataRequired("请设置密码")],
                             render_kw={"autocomplete": "new-password"})
    password2 = PasswordField("再输一次密码", validators=[EqualTo("password", "两次输入的密码不一致")],
                              render_kw={"autocomplete": "new-password"})


class ProfileForm(ProfileFieldsMixin, FlaskForm):
    """A learner edits their own profile."""


class PasswordChangeForm(FlaskForm):
    """Change one's own password."""

    current = PasswordField("当前密码", validators=[DataRequired("请输入当前密码")],
                            render_kw={"autocomplete": "current-password"})
    new = PasswordField("新密码（至少8位，含字母和数字）", validators=[DataRequired("请输入新密码")],
                        render_kw={"autocomplete": "new-password"})
    new2 = PasswordField("再输一次新密码", validators=[EqualTo("new", "两次输入的密码不一致")],
                         render_kw={"autocomplete": "new-password"})


class StaffCreateForm(FlaskForm):
    """An administrator creates an instructor, administrator or judge."""

    mobile = StringField("手机号", validators=[DataRequired("请输入手机号")], render_kw={"inputmode": "tel"})
    name = StringField("姓名", validators=[DataRequired("请输入姓名"), Length(max=30)])
    password = PasswordField("初始密码", validators=[DataRequired("请设置初始密码")])
    roles = SelectMultipleField(
        "角色", choices=[("instructor", "教师"), ("admin", "管理员"), ("judge", "裁判")],
        validators=[DataRequired("至少选择一个角色")],
    )


class PasswordResetForm(FlaskForm):
    """An administrator sets a new password for someone."""

    password = PasswordField("新密码", validators=[DataRequired("请输入新密码")])


class RoleForm(FlaskForm):
    """Grant or revoke one role."""

    role = SelectField("角色", choices=[("learner", "学员"), ("instructor", "教师"), ("admin", "管理员"),
                                       ("judge", "裁判")])
    grant = BooleanField("授予")
