"""The dashboard's filter form (GET, no CSRF): shape of the input only."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.validators import Length, Optional

from academy.accounts.forms import DISTRICT_LABELS, OCCUPATION_GROUP_LABELS


class ReportFilterForm(FlaskForm):
    """Period (local dates), course, occupation, district, occupation group, platform.

    ``fill_choices(choices)`` adds the options that come from the data (``services.FilterChoices``).
    """

    class Meta:
        csrf = False

    date_from = DateField(_l("从"), validators=[Optional()])
    date_to = DateField(_l("到"), validators=[Optional()])
    course = SelectField(_l("课程"), choices=[], validators=[Optional()], validate_choice=False)
    occupation = SelectField(_l("工种"), choices=[], validators=[Optional()], validate_choice=False)
    district = SelectField(_l("县（市、区）"), choices=[], validators=[Optional()], validate_choice=False)
    occupation_group = SelectField(_l("从业类型"), choices=[], validators=[Optional()], validate_choice=False)
    platform = StringField(_l("平台/企业"), validators=[Optional(), Length(max=60)],
                           render_kw={"list": "platforms", "placeholder": _l("如 美团、顺丰")})

    def fill_choices(self, choices) -> None:
        """Options from ``choices`` (a ``reports.services.FilterChoices``), each led by "all"."""
        self.course.choices = [("", _l("全部课程"))] + [(str(i), label) for i, label in choices.courses]
        self.occupation.choices = [("", _l("全部工种"))] + [(o, o) for o in choices.occupations]
        self.district.choices = [("", _l("全部地区"))] + [(d, DISTRICT_LABELS.get(d, d)) for d in choices.districts]
        self.occupation_group.choices = [("", _l("全部类型"))] + [
            (g, OCCUPATION_GROUP_LABELS.get(g, g)) for g in choices.occupation_groups]
        self.platform_options = choices.platforms  # offered in a <datalist>

    def course_id(self) -> int | None:
        """The selected course id, or None (a value that is not a number is ignored)."""
        value = (self.course.data or "").strip()
        return int(value) if value.isdigit() else None
