"""Certificate forms (input shape only; the rules live in services.py)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from academy.certificates.models import REVOCATION_LABELS
from academy.certificates.serials import LEVEL_LABELS


class ActionForm(FlaskForm):
    """A button that only needs CSRF protection."""


class IssueForm(FlaskForm):
    """Issue certificates for a cohort (all eligible learners) or for one learner."""

    kind = SelectField("证书类型", choices=[("completion", "培训合格证书 / 结业证书"), ("special", "专项职业能力证书"),
                                        ("level", "职业技能等级证书")], default="completion")
    skill_unit = SelectField("专项职业能力（仅专项证书）", choices=[], validate_choice=False, validators=[Optional()])
    learner_id = HiddenField()


class PrintForm(FlaskForm):
    """Start a batch print: one merged PDF or a ZIP of individual files."""

    output = SelectField("输出", choices=[("pdf", "一个合并的 PDF（按顺序打印）"), ("zip", "ZIP：每人一个 PDF 文件")],
                         default="pdf")


class RevokeForm(FlaskForm):
    """Revoke a certificate: a public reason category and an internal note."""

    reason = SelectField("作废原因", choices=[(k.value, v) for k, v in REVOCATION_LABELS.items()])
    note = TextAreaField("说明（内部记录，不公开）", validators=[DataRequired("请填写作废说明"), Length(max=500)])


class ReissueForm(FlaskForm):
    """Reissue a certificate with a fresh snapshot of the learner's current details."""

    note = TextAreaField("补发说明（内部记录）", validators=[Optional(), Length(max=500)])


class SettingsForm(FlaskForm):
    """The academy's certificate settings."""

    issuer_name = StringField("发证单位名称（印在证书上）", validators=[Optional(), Length(max=120)])
    completion_title = SelectField("结业类证书名称", choices=[("培训合格证书", "培训合格证书"), ("结业证书", "结业证书")])
    completion_prefix = StringField("培训合格证书编号前缀", validators=[DataRequired(), Length(min=2, max=6)])
    special_prefix = StringField("专项职业能力证书编号前缀", validators=[DataRequired(), Length(min=2, max=6)])
    award_prefix = StringField("获奖证书编号前缀", validators=[DataRequired(), Length(min=2, max=6)])
    authorised_units = TextAreaField("已获授权的专项职业能力（每行一个，如“网约配送”）", validators=[Optional(), Length(max=2000)])
    is_evaluation_org = BooleanField("本学院是已备案的职业技能等级认定评价机构")
    evaluation_org_name = StringField("备案的评价机构名称", validators=[Optional(), Length(max=120)])
    org_type = SelectField("机构类型", choices=[("", "—"), ("Y", "Y 用人单位"), ("S", "S 社会培训评价组织")],
                           validators=[Optional()])
    org_code = StringField("机构代码（4 位）", validators=[Optional(), Length(max=4)])
    province_code = StringField("省份代码（2 位，江西 36）", validators=[Optional(), Length(max=2)])
    site_code = StringField("机构/站点序号（6 位）", validators=[Optional(), Length(max=6)])


class SealForm(FlaskForm):
    """Upload the seal image printed over the issuer's name."""

    seal = FileField("印章图片（透明背景 PNG 最佳，2 MB 以内）", validators=[FileRequired("请选择图片")])


class ExternalLevelForm(FlaskForm):
    """Record a skill level certificate a learner obtained elsewhere."""

    learner = StringField("学员手机号或身份证号", validators=[DataRequired("请填写学员手机号或身份证号"), Length(max=18)])
    number = StringField("证书编号（22 位）", validators=[DataRequired("请填写证书编号"), Length(max=30)])
    level = SelectField("技能等级", coerce=int, choices=[(k, v) for k, v in sorted(LEVEL_LABELS.items(), reverse=True)])
    occupation = StringField("职业（工种）", validators=[DataRequired("请填写职业"), Length(max=60)])
    issuer = StringField("评价机构", validators=[DataRequired("请填写评价机构"), Length(max=120)])
    issued_on = DateField("发证日期", validators=[InputRequired("请填写发证日期")])
    note = StringField("备注", validators=[Optional(), Length(max=200)])


class FileCheckForm(FlaskForm):
    """Upload a PDF to check it is an unaltered original."""

    file = FileField("证书 PDF 文件", validators=[FileRequired("请选择 PDF 文件")])


class SelectionForm(FlaskForm):
    """Certificates ticked in the admin search for a batch print (ids as repeated fields)."""

    output = SelectField("输出", choices=[("pdf", "合并 PDF"), ("zip", "ZIP")], default="pdf")
