"""Account rules: registration, profile, login, activation, passwords, staff accounts, roles."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from werkzeug.security import check_password_hash

from academy.accounts import services
from academy.accounts.models import Role, User
from academy.accounts.services import AccountError, Profile
from academy.audit.models import AuditEvent
from academy.common.ids import check_character
from academy.errors import Conflict, PermissionDenied
from academy.extensions import db
from tests.factories import PASSWORD, make_admin, make_instructor, make_learner, valid_id_number


def _actions(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


# --- registration ---------------------------------------------------------------------------

def test_a_learner_registers_with_mobile_name_and_password():
    user = services.register_learner("138 1234 5678", " 王小磊 ", "abc12345")
    assert user.mobile == "13812345678"
    assert user.name == "王小磊"
    assert user.role_set == {Role.LEARNER}
    assert user.password_hash != "abc12345"
    assert check_password_hash(user.password_hash, "abc12345")
    assert _actions("account.registered")[0].object_id == user.id


def test_the_id_number_is_optional():
    user = services.register_learner("13812345678", "王磊", "abc12345")
    assert user.id_number is None and user.birth_date is None and user.gender is None


def test_an_id_number_sets_birth_date_and_gender_and_is_stored_upper_case():
    first17 = "36070219850312124"  # 17th digit 4: a woman
    number = first17 + check_character(first17)
    user = services.register_learner("13812345678", "刘芳", "abc12345", Profile(id_number=number.lower()))
    assert user.id_number == number.upper()
    assert user.birth_date == date(1985, 3, 12)
    assert user.gender == "女"


def test_a_wrong_id_number_is_refused_with_the_reason():
    with pytest.raises(AccountError, match="校验位"):
        services.register_learner("13812345678", "王磊", "abc12345",
                                  Profile(id_number="360730197207198546"))


def test_a_duplicate_mobile_number_is_a_conflict():
    make_learner(mobile="13812345678")
    with pytest.raises(Conflict, match="已经注册"):
        services.register_learner("13812345678", "王磊", "abc12345")


def test_a_mobile_number_of_an_imported_learner_points_to_activation():
    make_learner(mobile="13812345678", password_hash=None)
    with pytest.raises(Conflict, match="首次登录"):
        services.register_learner("13812345678", "王磊", "abc12345")


def test_an_id_number_used_by_another_account_is_refused():
    number = valid_id_number()
    make_learner(id_number=number)
    with pytest.raises(AccountError, match="已经注册过账号"):
        services.register_learner("13812345678", "王磊", "abc12345", Profile(id_number=number))


def test_an_id_number_of_an_imported_learner_points_to_activation():
    number = valid_id_number()
    make_learner(id_number=number, password_hash=None)
    with pytest.raises(AccountError, match="首次登录"):
        services.register_learner("13812345678", "王磊", "abc12345", Profile(id_number=number))


@pytest.mark.parametrize(("mobile", "message"), [("12345678901", "手机号"), ("1381234567", "手机号")])
def test_a_bad_mobile_number_is_refused(mobile, message):
    with pytest.raises(AccountError, match=message):
        services.register_learner(mobile, "王磊", "abc12345")


@pytest.mark.parametrize(("password", "message"), [
    ("abc123", "至少8位"),
    ("abcdefgh", "字母和数字"),
    ("12345678", "字母和数字"),
    ("a13812345678", "不能包含手机号"),
])
def test_a_weak_password_is_refused(password, message):
    with pytest.raises(AccountError, match=message):
        services.register_learner("13812345678", "王磊", password)


@pytest.mark.parametrize("name", ["王", "王1磊", "王" * 31])
def test_an_implausible_name_is_refused(name):
    with pytest.raises(AccountError, match="姓名"):
        services.register_learner("13812345678", name, "abc12345")


def test_names_keep_rare_characters_and_unify_middle_dots():
    assert services.register_learner("13812345678", "买买提・艾力", "abc12345").name == "买买提·艾力"
    assert services.register_learner("13812345679", "李𠮷堃", "abc12345").name == "李𠮷堃"


def test_profile_choices_must_come_from_the_lists():
    with pytest.raises(AccountError, match="所在县"):
        services.register_learner("13812345678", "王磊", "abc12345", Profile(district="北京市"))
    with pytest.raises(AccountError, match="从业类型"):
        services.register_learner("13812345678", "王磊", "abc12345", Profile(occupation_group="厨师"))
    with pytest.raises(AccountError, match="文化程度"):
        services.register_learner("13812345678", "王磊", "abc12345", Profile(education="博士后"))
    with pytest.raises(AccountError, match="政治面貌"):
        services.register_learner("13812345678", "王磊", "abc12345", Profile(political_status="无"))


def test_profile_fields_are_cleaned_and_stored():
    user = services.register_learner("13812345678", "王磊", "abc12345", Profile(
        district="瑞金市", occupation_group="外卖员", platform=" 美团\u3000", education="高中",
        political_status="中共党员"))
    assert (user.district, user.occupation_group, user.platform, user.education, user.political_status) == (
        "瑞金市", "外卖员", "美团", "高中", "中共党员")


def test_a_refused_profile_change_leaves_the_account_unchanged():
    user = make_learner(district="瑞金市")
    with pytest.raises(AccountError):
        services.apply_profile(user, Profile(id_number=valid_id_number(), district="火星"))
    assert user.id_number is None
    assert user.district == "瑞金市"


def test_an_empty_id_number_keeps_the_stored_one():
    number = valid_id_number()
    user = make_learner(id_number=number)
    services.apply_profile(user, Profile(id_number="", district="章贡区"))
    assert user.id_number == number
    assert user.district == "章贡区"


def test_a_person_may_keep_their_own_id_number():
    number = valid_id_number()
    user = make_learner(id_number=number)
    services.apply_profile(user, Profile(id_number=number))
    assert user.id_number == number


# --- login ----------------------------------------------------------------------------------

def test_login_by_mobile_number_and_password():
    user = make_learner(mobile="13812345678")
    assert services.authenticate("138-1234-5678", PASSWORD) is user
    assert _actions("auth.login")[0].actor_id == user.id


def test_a_wrong_password_and_an_unknown_number_give_the_same_message_and_are_audited():
    user = make_learner(mobile="13812345678")
    with pytest.raises(AccountError) as wrong_password:
        services.authenticate("13812345678", "nope12345")
    with pytest.raises(AccountError) as unknown:
        services.authenticate("13900000000", PASSWORD)
    assert str(wrong_password.value) == str(unknown.value) == "手机号或密码不正确"
    failures = _actions("auth.login_failed")
    assert [(f.actor_id, f.details["mobile_tail"]) for f in failures] == [(user.id, "5678"), (None, "0000")]


def test_an_imported_learner_without_password_cannot_log_in():
    make_learner(mobile="13812345678", password_hash=None)
    with pytest.raises(AccountError, match="手机号或密码不正确"):
        services.authenticate("13812345678", "")


def test_a_deactivated_account_is_told_so_only_with_the_right_password():
    make_learner(mobile="13812345678", is_active_account=False)
    with pytest.raises(AccountError, match="手机号或密码不正确"):
        services.authenticate("13812345678", "wrong1234")
    with pytest.raises(AccountError, match="已停用"):
        services.authenticate("13812345678", PASSWORD)
    assert _actions("auth.login_refused")


# --- activation of imported learners ----------------------------------------------------------

def _imported(**overrides) -> User:
    values = {"mobile": "13812345678", "password_hash": None, "id_number": "36072219780919711X"}
    values.update(overrides)
    return make_learner(**values)


def test_an_imported_learner_activates_with_mobile_and_id_tail():
    user = _imported()
    version = user.session_version
    assert services.activate_account("13812345678", "19711x", "newpass123") is user
    assert check_password_hash(user.password_hash, "newpass123")
    assert user.session_version == version + 1
    assert _actions("account.activated")[0].object_id == user.id
    assert services.authenticate("13812345678", "newpass123") is user


def test_the_id_tail_accepts_full_width_digits_and_spaces():
    _imported(id_number="360730197207198545")
    assert services.activate_account("13812345678", "１９８ ５４５", "newpass123").mobile == "13812345678"


@pytest.mark.parametrize(("mobile", "tail"), [
    ("13812345678", "19711Y"),  # wrong tail
    ("13812345678", "9711X"),  # five characters
    ("13900000000", "19711X"),  # unknown number
    ("", ""),
])
def test_wrong_combinations_get_one_neutral_message_and_are_audited(mobile, tail):
    _imported()
    with pytest.raises(AccountError) as refused:
        services.activate_account(mobile, tail, "newpass123")
    assert str(refused.value) == services.ACTIVATION_FAILED
    assert len(_actions("account.activation_failed")) == 1


def test_an_account_that_already_has_a_password_cannot_be_activated():
    user = _imported(password_hash="pbkdf2:sha256:1000$x$y")
    with pytest.raises(AccountError) as refused:
        services.activate_account("13812345678", "19711X", "newpass123")
    assert str(refused.value) == services.ACTIVATION_FAILED
    assert user.password_hash == "pbkdf2:sha256:1000$x$y"


def test_an_account_without_id_number_or_deactivated_cannot_be_activated():
    _imported(id_number=None)
    _imported(mobile="13812345679", is_active_account=False)
    for mobile in ("13812345678", "13812345679"):
        with pytest.raises(AccountError, match="对不上"):
            services.activate_account(mobile, "19711X", "newpass123")


def test_activation_applies_the_password_rules():
    user = _imported()
    with pytest.raises(AccountError, match="至少8位"):
        services.activate_account("13812345678", "19711X", "short1")
    assert user.password_hash is None


# --- passwords ------------------------------------------------------------------------------

def test_changing_the_password_checks_the_current_one_and_ends_other_sessions():
    user = make_learner()
    version = user.session_version
    with pytest.raises(AccountError, match="当前密码不正确"):
        services.change_password(user, "wrong1234", "newpass123")
    services.change_password(user, PASSWORD, "newpass123")
    assert check_password_hash(user.password_hash, "newpass123")
    assert user.session_version == version + 1
    assert _actions("auth.password_changed")


def test_a_new_password_must_follow_the_rules():
    user = make_learner()
    with pytest.raises(AccountError, match="至少8位"):
        services.change_password(user, PASSWORD, "a1")


def test_an_admin_resets_a_password_and_the_person_is_signed_out_everywhere():
    admin, learner = make_admin(), make_learner()
    version = learner.session_version
    services.reset_password(learner, "reset1234", actor=admin)
    assert check_password_hash(learner.password_hash, "reset1234")
    assert learner.session_version == version + 1
    assert _actions("auth.password_reset")[0].actor_id == admin.id


@pytest.mark.parametrize("maker", [make_learner, make_instructor])
def test_only_admins_reset_passwords(maker):
    with pytest.raises(PermissionDenied):
        services.reset_password(make_learner(), "reset1234", actor=maker())


def test_a_stale_session_identifier_no_longer_loads_the_user():
    user = make_learner()
    old = user.get_id()
    assert services.load_session_user(old) is user
    user.session_version += 1
    assert services.load_session_user(old) is None
    assert services.load_session_user(user.get_id()) is user
    assert services.load_session_user("garbage") is None
    user.is_active_account = False
    assert services.load_session_user(user.get_id()) is None


# --- staff accounts and roles ------------------------------------------------------------------

def test_an_admin_creates_instructors_admins_and_judges():
    admin = make_admin()
    teacher = services.create_staff("13700000001", "钟建华", "teach1234", [Role.INSTRUCTOR], actor=admin)
    colleague = services.create_staff("13700000002", "刘晓燕", "admin1234", [Role.ADMIN, Role.JUDGE], actor=admin)
    assert teacher.role_set == {Role.INSTRUCTOR}
    assert colleague.role_set == {Role.ADMIN, Role.JUDGE}
    assert check_password_hash(teacher.password_hash, "teach1234")
    assert len(_actions("account.created")) == 2
    assert len(_actions("account.role_granted")) == 3


def test_creating_staff_for_an_existing_number_adds_the_role_and_keeps_the_password():
    admin = make_admin()
    learner = make_learner(mobile="13812345678")
    same = services.create_staff("13812345678", "别的名字", "other1234", [Role.INSTRUCTOR], actor=admin)
    assert same is learner
    assert learner.role_set == {Role.LEARNER, Role.INSTRUCTOR}
    assert check_password_hash(learner.password_hash, PASSWORD)


@pytest.mark.parametrize("maker", [make_learner, make_instructor])
def test_only_admins_create_staff(maker):
    with pytest.raises(PermissionDenied):
        services.create_staff("13700000001", "钟建华", "teach1234", [Role.INSTRUCTOR], actor=maker())


def test_staff_need_at_least_one_role_and_a_valid_password():
    admin = make_admin()
    with pytest.raises(AccountError, match="角色"):
        services.create_staff("13700000001", "钟建华", "teach1234", [], actor=admin)
    with pytest.raises(AccountError, match="至少8位"):
        services.create_staff("13700000001", "钟建华", "t1", [Role.INSTRUCTOR], actor=admin)


def test_a_person_may_hold_several_roles():
    admin = make_admin()
    person = make_learner()
    services.grant_role(person, Role.INSTRUCTOR, actor=admin)
    services.grant_role(person, Role.JUDGE, actor=admin)
    services.grant_role(person, Role.JUDGE, actor=admin)  # no-op
    assert person.role_set == {Role.LEARNER, Role.INSTRUCTOR, Role.JUDGE}
    assert person.is_learner and person.is_instructor and person.is_staff and not person.is_admin
    services.revoke_role(person, Role.INSTRUCTOR, actor=admin)
    assert person.role_set == {Role.LEARNER, Role.JUDGE}
    assert len(_actions("account.role_revoked")) == 1


def test_an_admin_cannot_drop_their_own_admin_role_but_may_drop_another_admins():
    admin, other = make_admin(), make_admin()
    with pytest.raises(AccountError, match="自己的管理员"):
        services.revoke_role(admin, Role.ADMIN, actor=admin)
    services.revoke_role(other, Role.ADMIN, actor=admin)
    assert admin.is_admin and not other.is_admin


def test_only_admins_change_roles():
    person, instructor = make_learner(), make_instructor()
    with pytest.raises(PermissionDenied):
        services.grant_role(person, Role.ADMIN, actor=instructor)
    with pytest.raises(PermissionDenied):
        services.revoke_role(person, Role.LEARNER, actor=instructor)
