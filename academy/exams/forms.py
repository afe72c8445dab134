"""Exam forms: shape of the input only; rules live in exams.services.

Labels, hints and validator messages are ``lazy_gettext`` (Chinese source). The gradebook's
cells are dynamic (one per learner and component), so they are read by ``read_cells`` from the
raw form data; the ``GradebookForm`` carries the CSRF token and the reason for a change.
"""

from __future__ import annotations

import re
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    FieldList,
    Form,
    FormField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from academy.exams.scoring import AttemptPolicy, PassRule
from academy.exams.services import DEFAULT_COMPONENTS, MAX_COMPONENTS, AssessmentSettings, ComponentSpec

PASS_RULE_CHOICES = [(PassRule.ALL_COMPONENTS.value, _l("各科均及格（每科都达到及格分）")),
                     (PassRule.WEIGHTED_TOTAL.value, _l("加权总分及格（总分达到及格线）"))]
ATTEMPT_POLICY_CHOICES = [(AttemptPolicy.BEST.value, _l("取最好一次")), (AttemptPolicy.LATEST.value, _l("取最后一次"))]

_CELL = re.compile(r"^([mo])-(\d+)-(\d+)$")


class ComponentForm(Form):
    """One component row; a row with an empty name is ignored (or removes that component)."""

    name = StringField(_l("科目"), validators=[Optional(), Length(max=30)])
    max_points = DecimalField(_l("满分"), places=1, default=Decimal("100"),
                              validators=[Optional(), NumberRange(min=Decimal("0.5"), max=Decimal("1000"),
                                                                  message=_l("满分应在0.5到1000之间"))])
    pass_mark = DecimalField(_l("及格分"), places=1, default=Decimal("60"),
                             validators=[Optional(), NumberRange(min=0, max=Decimal("1000"),
                                                                 message=_l("及格分不能为负"))])
    weight = DecimalField(_l("权重"), places=2, default=Decimal("50"),
                          validators=[Optional(), NumberRange(min=0, max=Decimal("1000"), message=_l("权重不能为负"))])


class AssessmentForm(FlaskForm):
    """Create or edit an assessment: name, date, pass rule, attempt policy and components."""

    title = StringField(_l("考核名称"), default="结业考核",
                        validators=[DataRequired(_l("请填写考核名称")), Length(max=60)])
    held_on = DateField(_l("考核日期"), validators=[Optional()])
    pass_rule = SelectField(_l("合格规则"), choices=PASS_RULE_CHOICES, default=PassRule.ALL_COMPONENTS.value)
    pass_mark = DecimalField(_l("总分及格线（满分100，只用于“加权总分及格”）"), places=1, default=Decimal("60"),
                             validators=[InputRequired(_l("请填写及格线")),
                                         NumberRange(min=0, max=100, message=_l("及格线应在0到100之间"))])
    attempt_policy = SelectField(_l("补考后计哪一次成绩"), choices=ATTEMPT_POLICY_CHOICES,
                                 default=AttemptPolicy.BEST.value)
    components = FieldList(FormField(ComponentForm), min_entries=MAX_COMPONENTS, max_entries=MAX_COMPONENTS)

    def fill_defaults(self, assessment=None) -> None:
        """Show the assessment's components (or the defaults 理论知识/操作技能) in the first rows."""
        specs = ([ComponentSpec(c.name, c.max_points, c.pass_mark, c.weight) for c in assessment.components]
                 if assessment is not None else list(DEFAULT_COMPONENTS))
        for entry, spec in zip(self.components.entries, specs, strict=False):
            entry.form.name.data = spec.name
            entry.form.max_points.data = spec.max_points
            entry.form.pass_mark.data = spec.pass_mark
            entry.form.weight.data = spec.weight
        for entry in self.components.entries[len(specs):]:
            entry.form.name.data = ""

    def to_settings(self) -> AssessmentSettings:
        """The validated input as ``services.AssessmentSettings`` (rows without a name dropped)."""
        specs = tuple(
            ComponentSpec(e.form.name.data.strip(),
                          e.form.max_points.data if e.form.max_points.data is not None else Decimal("100"),
                          e.form.pass_mark.data if e.form.pass_mark.data is not None else Decimal("60"),
                          e.form.weight.data if e.form.weight.data is not None else Decimal("50"))
            for e in self.components.entries if (e.form.name.data or "").strip())
        return AssessmentSettings(self.title.data, self.held_on.data, self.pass_rule.data, self.pass_mark.data,
                                  self.attempt_policy.data, specs)


class GradebookForm(FlaskForm):
    """The gradebook sheet: cells are read by ``read_cells``; a reason is needed after publication."""

    reason = StringField(_l("修改原因（成绩发布后必填）"), validators=[Optional(), Length(max=500)])


def read_cells(formdata) -> tuple[dict[tuple[int, int], str], dict[tuple[int, int], str]]:
    """Split the posted sheet into (entered, shown): ``m-<learner>-<component>`` is the typed value,
    ``o-<learner>-<component>`` the value the sheet showed when it was opened."""
    entered: dict[tuple[int, int], str] = {}
    shown: dict[tuple[int, int], str] = {}
    for key in formdata:
        match = _CELL.match(key)
        if match:
            target = entered if match.group(1) == "m" else shown
            target[(int(match.group(2)), int(match.group(3)))] = formdata.get(key, "")
    return entered, shown


class PublishForm(FlaskForm):
    """Publish the results; ``allow_incomplete`` confirms publishing with results still pending."""

    allow_incomplete = BooleanField(_l("有学员成绩未录完，仍然发布（他们会看到“待定”）"))


class UnpublishForm(FlaskForm):
    """Withdraw published results, with a reason (logged)."""

    reason = StringField(_l("撤回原因"), validators=[DataRequired(_l("请填写撤回原因")), Length(max=500)])


class EligibilityForm(FlaskForm):
    """An administrator lets a learner below the attendance threshold sit the assessment."""

    reason = TextAreaField(_l("特批原因"), validators=[DataRequired(_l("请填写特批原因")), Length(max=500)])


class ScoreImportForm(FlaskForm):
    """Upload a score sheet (.xlsx or .csv)."""

    file = FileField(_l("成绩表（.xlsx 或 .csv）"), validators=[FileRequired(_l("请选择文件"))])
    reason = StringField(_l("修改原因（成绩发布后必填）"), validators=[Optional(), Length(max=500)])


class ResitForm(FlaskForm):
    """Arrange a resit (补考): the learners are the checked ``learner`` boxes."""

    title = StringField(_l("名称"), default="补考", validators=[DataRequired(_l("请填写名称")), Length(max=60)])
    held_on = DateField(_l("补考日期"), validators=[Optional()])
