"""Account forms: shape of the input only; rules live in accounts.services.

Labels, hints, validator messages and choice labels are ``lazy_gettext`` (Chinese source,
English in academy/translations/en); the stored values of choices stay Chinese.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from academy.accounts.models import DISTRICTS, EDUCATION_LEVELS, OCCUPATION_GROUPS, POLITICAL_STATUSES

# Display labels of the stored (Chinese) values; one literal per value so that pybabel extracts it.
DISTRICT_LABELS = {
    "章贡区": _l("章贡区"), "南康区": _l("南康区"), "赣县区": _l("赣县区"), "瑞金市": _l("瑞金市"),
    "龙南市": _l("龙南市"), "信丰县": _l("信丰县"), "大余县": _l("大余县"), "上犹县": _l("上犹县"),
    "崇义县": _l("崇义县"), "安远县": _l("安远县"), "定南县": _l("定南县"), "全南县": _l("全南县"),
    "宁都县": _l("宁都县"), "于都县": _l("于都县"), "兴国县": _l("兴国县"), "会昌县": _l("会昌县"),
    "寻乌县": _l("寻乌县"), "石城县": _l("石城县"),
}
OCCUPATION_GROUP_LABELS = {
    "货车司机": _l("货车司机"), "网约车司机": _l("网约车司机"), "快递员": _l("快递员"), "外卖员": _l("外卖员"),
    "网络主播": _l("网络主播"), "网约家政": _l("网约家政"), "网络作家": _l("网络作家"), "其他": _l("其他"),
}
EDUCATION_LABELS = {
    "小学": _l("小学"), "初中": _l("初中"), "高中": _l("高中"), "中专": _l("中专"), "技校": _l("技校"),
    "职高": _l("职高"), "大专": _l("大专"), "本科": _l("本科"), "硕士及以上": _l("硕士及以上"),
}
POLITICAL_STATUS_LABELS = {
    "群众": _l("群众"), "中共党员": _l("中共党员"), "中共预备党员": _l("中共预备党员"), "共青团员": _l("共青团员"),
    "民主党派": _l("民主党派"),
}
ROLE_CHOICE_LABELS = {"learner": _l("学员"), "instructor": _l("教师"), "admin": _l("管理员"), "judge": _l("裁判")}
PASSWORD_HINT = _l("至少8位，含字母和数字")


def _choices(values: tuple[str, ...], labels: dict) -> list[tuple[str, object]]:
    return [("", _l("请选择"))] + [(v, labels.get(v, v)) for v in values]


class LoginForm(FlaskForm):
    """Sign in with mobile number and password."""

    mobile = StringField(_l("手机号"), validators=[DataRequired(_l("请输入手机号"))],
                         render_kw={"inputmode": "tel", "autocomplete": "username"})
    password = PasswordField(_l("密码"), validators=[DataRequired(_l("请输入密码"))],
                             render_kw={"autocomplete": "current-password"})
    remember = BooleanField(_l("记住我（30天内免登录）"))


class ActivationForm(FlaskForm):
    """First sign-in of an imported learner: mobile, last 6 characters of the ID number, new password."""

    mobile = StringField(_l("手机号"), validators=[DataRequired(_l("请输入手机号"))],
                         render_kw={"inputmode": "tel", "autocomplete": "username"})
    id_tail = StringField(_l("身份证号后6位"), validators=[DataRequired(_l("请输入身份证号后6位")), Length(max=12)],
                          render_kw={"autocomplete": "off", "maxlength": 12})
    password = PasswordField(_l("设置密码（至少8位，含字母和数字）"), validators=[DataRequired(_l("请设置密码"))],
                             render_kw={"autocomplete": "new-password"})
    password2 = PasswordField(_l("再输一次密码"),
                              validators=[DataRequired(_l("请再输一次密码")),
                                          EqualTo("password", _l("两次输入的密码不一致"))],
                              render_kw={"autocomplete": "new-password"})


class ProfileFieldsMixin:
    """Optional profile fields shared by registration and the profile page."""

    id_number = StringField(_l("身份证号（选填，领证和补贴需要）"), validators=[Optional(), Length(max=24)],
                            render_kw={"autocomplete": "off", "inputmode": "text"})
    district = SelectField(_l("所在县（市、区）"), choices=_choices(DISTRICTS, DISTRICT_LABELS),
                           validators=[Optional()])
    occupation_group = SelectField(_l("从业类型"), choices=_choices(OCCUPATION_GROUPS, OCCUPATION_GROUP_LABELS),
                                   validators=[Optional()])
    platform = StringField(_l("所属平台/企业"), validators=[Optional(), Length(max=60)],
                           render_kw={"placeholder": _l("如：美团、顺丰、滴滴")})
    education = SelectField(_l("文化程度"), choices=_choices(EDUCATION_LEVELS, EDUCATION_LABELS),
                            validators=[Optional()])
    political_status = SelectField(_l("政治面貌"), choices=_choices(POLITICAL_STATUSES, POLITICAL_STATUS_LABELS),
                                   validators=[Optional()])


class RegisterForm(ProfileFieldsMixin, FlaskForm):
    """Learner self-registration."""

    mobile = StringField(_l("手机号"), validators=[DataRequired(_l("请输入手机号"))],
                         render_kw={"inputmode": "tel", "autocomplete": "tel"})
    name = StringField(_l("真实姓名"), validators=[DataRequired(_l("请输入姓名")), Length(max=30)],
                       render_kw={"autocomplete": "name"})
    password = PasswordField(_l("设置密码（至少8位，含字母和数字）"), validators=[DataRequired(_l("请设置密码"))],
                             render_kw={"autocomplete": "new-password"})
    password2 = PasswordField(_l("再输一次密码"),
                              validators=[EqualTo("password", _l("两次输入的密码不一致"))],
                              render_kw={"autocomplete": "new-password"})


class ProfileForm(ProfileFieldsMixin, FlaskForm):
    """A learner edits their own profile."""


class PasswordChangeForm(FlaskForm):
    """Change one's own password."""

    current = PasswordField(_l("当前密码"), validators=[DataRequired(_l("请输入当前密码"))],
                            render_kw={"autocomplete": "current-password"})
    new = PasswordField(_l("新密码（至少8位，含字母和数字）"), validators=[DataRequired(_l("请输入新密码"))],
                        render_kw={"autocomplete": "new-password"})
    new2 = PasswordField(_l("再输一次新密码"), validators=[EqualTo("new", _l("两次输入的密码不一致"))],
                         render_kw={"autocomplete": "new-password"})


class StaffCreateForm(FlaskForm):
    """An administrator creates an instructor, administrator or judge."""

    mobile = StringField(_l("手机号"), validators=[DataRequired(_l("请输入手机号"))],
                         render_kw={"inputmode": "tel"})
    name = StringField(_l("姓名"), validators=[DataRequired(_l("请输入姓名")), Length(max=30)])
    password = PasswordField(_l("初始密码"), validators=[DataRequired(_l("请设置初始密码"))])
    roles = SelectMultipleField(
        _l("角色"),
        choices=[(r, ROLE_CHOICE_LABELS[r]) for r in ("instructor", "admin", "judge")],
        validators=[DataRequired(_l("至少选择一个角色"))],
    )


class PasswordResetForm(FlaskForm):
    """An administrator sets a new password for someone."""

    password = PasswordField(_l("新密码"), validators=[DataRequired(_l("请输入新密码"))])


class RoleForm(FlaskForm):
    """Grant or revoke one role."""

    role = SelectField(_l("角色"), choices=[(r, label) for r, label in ROLE_CHOICE_LABELS.items()])
    grant = BooleanField(_l("授予（不勾选则取消这个角色）"))
