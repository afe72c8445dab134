"""Account rules: registration, login, passwords, roles, profile."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import date

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from academy.accounts.models import (
    DISTRICTS,
    EDUCATION_LEVELS,
    OCCUPATION_GROUPS,
    POLITICAL_STATUSES,
    Role,
    User,
    UserRole,
)
from academy.audit.services import record
from academy.common import ratelimit
from academy.common.ids import InvalidIdNumber, InvalidMobile, normalise_mobile, parse_id_number
from academy.common.ratelimit import Limit
from academy.common.text import clean, clean_name, digits_text
from academy.errors import Conflict, DomainError, NotFound, PermissionDenied
from academy.extensions import db

PASSWORD_MIN_LENGTH = 8
# The one answer for every failed activation, so it reveals nothing about which part was wrong.
ACTIVATION_FAILED = "手机号与身份证号后6位对不上，或者这个账号已经激活过（已激活请直接登录，忘记密码请联系学院）"
PROFILE_FIELD_LABELS = {
    "district": "所在县（市、区）",
    "occupation_group": "从业类型",
    "education": "文化程度",
    "political_status": "政治面貌",
}


class AccountError(DomainError):
    """A registration, login or profile rule was broken."""


class ActivationFailed(AccountError):
    """The activation details did not match an account waiting for activation (one neutral message)."""


@dataclass
class Profile:
    """Profile fields a learner fills in (all optional except as noted by the caller).

    ``id_number`` is the raw text typed (validated here); the others are free text or one of
    the lists in ``accounts.models``.
    """

    id_number: str | None = None
    district: str | None = None
    occupation_group: str | None = None
    platform: str | None = None
    education: str | None = None
    political_status: str | None = None


def _hash(password: str) -> str:
    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    return generate_password_hash(password, method=method)


_DUMMY_HASHES: dict[str, str] = {}


def _burn_time(password: str) -> None:
    """Spend the time of one hash check so an unknown number answers as slowly as a known one."""
    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    if method not in _DUMMY_HASHES:
        _DUMMY_HASHES[method] = generate_password_hash("not-the-password-1", method=method)
    check_password_hash(_DUMMY_HASHES[method], password)


def check_password_rules(password: str, *, mobile: str | None = None) -> None:
    """Raise ``AccountError`` unless ``password`` has ≥ 8 characters, a letter and a digit,
    and is not the mobile number."""
    if len(password) < PASSWORD_MIN_LENGTH:
        raise AccountError(f"密码至少{PASSWORD_MIN_LENGTH}位")
    if not any(c.isdigit() for c in password) or not any(c.isalpha() for c in password):
        raise AccountError("密码需同时包含字母和数字")
    if mobile and mobile in password:
        raise AccountError("密码不能包含手机号")


def validate_name(raw: str) -> str:
    """Return the cleaned real name or raise ``AccountError`` (2–30 characters, no digits)."""
    name = clean_name(raw)
    if len(name) < 2 or len(name) > 30:
        raise AccountError("姓名应为2到30个字")
    if any(c.isdigit() for c in name):
        raise AccountError("姓名不能包含数字")
    return name


def apply_profile(user: User, profile: Profile, *, today: date | None = None) -> None:
    """Validate ``profile`` and copy it onto ``user``.

    An ID number (GB 11643-1999) sets ``birth_date`` and ``gender``; it must not belong to
    another account. An empty ID number leaves the stored one unchanged. District,
    occupation group, education and political status must be one of the lists in
    ``accounts.models`` (or empty). Everything is validated before ``user`` is changed.
    Raises ``AccountError`` naming the field.
    """
    parsed = None
    if profile.id_number and clean(profile.id_number):
        try:
            parsed = parse_id_number(profile.id_number, today=today)
        except InvalidIdNumber as exc:
            raise AccountError(str(exc)) from None
        with db.session.no_autoflush:
            other = db.session.scalar(select(User).where(User.id_number == parsed.value))
        if other is not None and other.id != user.id:
            if other.password_hash is None:
                raise AccountError("这个身份证号已有学院导入的账号，请用登录页的“首次登录”激活")
            raise AccountError("这个身份证号已经注册过账号，请直接登录或联系学院")
    choices: dict[str, str | None] = {}
    for field, allowed in (
        ("district", DISTRICTS),
        ("occupation_group", OCCUPATION_GROUPS),
        ("education", EDUCATION_LEVELS),
        ("political_status", POLITICAL_STATUSES),
    ):
        value = clean(getattr(profile, field)) or None
        if value is not None and value not in allowed:
            raise AccountError(f"{PROFILE_FIELD_LABELS[field]}“{value}”不是可选的值")
        choices[field] = value
    if parsed is not None:
        user.id_number = parsed.value
        user.birth_date = parsed.birth_date
        user.gender = parsed.gender
    for field, value in choices.items():
        setattr(user, field, value)
    user.platform = clean(profile.platform)[:60] or None


def register_learner(mobile: str, name: str, password: str, profile: Profile | None = None) -> User:
    """Create a learner account (self-registration).

    ``profile`` holds the optional fields (see ``apply_profile``). Raises ``AccountError`` for
    a bad mobile number, name, password, ID number or profile choice, and ``Conflict`` when
    the mobile number already has an account (pointing an imported learner, who has no
    password yet, to the activation page).
    """
    try:
        mobile = normalise_mobile(mobile)
    except InvalidMobile as exc:
        raise AccountError(str(exc)) from None
    existing = db.session.scalar(select(User).where(User.mobile == mobile))
    if existing is not None:
        if existing.password_hash is None:
            raise Conflict("学院已经用这个手机号为您建了账号，请用登录页的“首次登录”激活")
        raise Conflict("这个手机号已经注册，请直接登录")
    check_password_rules(password, mobile=mobile)
    user = User(mobile=mobile, name=validate_name(name), password_hash=_hash(password))
    user.roles.append(UserRole(role=Role.LEARNER))
    apply_profile(user, profile or Profile())
    db.session.add(user)
    db.session.flush()
    record("account.registered", actor=user, obj=user)
    return user


# Lock-out: after 5 failures for one mobile number, or 100 from one address, within 15 minutes,
# further attempts are refused until the window ends (OWASP authentication cheat sheet).
LOGIN_LIMIT_PER_MOBILE = Limit(count=5, seconds=15 * 60)
LOGIN_LIMIT_PER_ADDRESS = Limit(count=100, seconds=15 * 60)  # a classroom shares one address


class LoginLocked(AccountError):
    """Too many failed sign-ins; the message says when to try again."""


def authenticate(mobile: str, password: str, *, address: str | None = None) -> User:
    """Return the active user with this mobile number and password.

    ``address`` is the client IP (for the per-address limit). Raises ``LoginLocked`` when the
    number or the address used up its failures (5 per number, 100 per address in 15 minutes),
    and ``AccountError`` with one message for any other failure (no hint whether the number
    exists; an unknown number takes as long as a wrong password). Failures are audited as
    ``auth.login_failed`` with the last four digits typed, lock-outs as ``auth.login_locked``;
    a deactivated account with the right password is told so (``auth.login_refused``).
    """
    try:
        mobile = normalise_mobile(mobile)
    except InvalidMobile:
        mobile = clean(mobile)
    keys = [(f"login:m:{mobile}", LOGIN_LIMIT_PER_MOBILE)]
    if address:
        keys.append((f"login:a:{address}", LOGIN_LIMIT_PER_ADDRESS))
    if any(ratelimit.exceeded(key, limit) for key, limit in keys):
        record("auth.login_locked", mobile_tail=mobile[-4:])
        raise LoginLocked("登录失败次数太多，账号已临时锁定，请15分钟后再试；忘记密码请联系学院重置")
    user = db.session.scalar(select(User).where(User.mobile == mobile))
    if user is None or not user.password_hash:
        _burn_time(password)
        ok = False
    else:
        ok = check_password_hash(user.password_hash, password)
    if not ok:
        for key, limit in keys:
            ratelimit.hit(key, limit)
        record("auth.login_failed", actor=user, mobile_tail=mobile[-4:])
        raise AccountError("手机号或密码不正确")
    ratelimit.reset(keys[0][0])
    if not user.is_active_account:
        record("auth.login_refused", actor=user, obj=user, reason="inactive")
        raise AccountError("账号已停用，请联系学院")
    record("auth.login", actor=user, obj=user)
    return user


# The last six characters of an ID number have little entropy once the birth date is known
# (3 sequence digits and a computed check character): 5 wrong tries per number and hour.
ACTIVATION_LIMIT_PER_MOBILE = Limit(count=5, seconds=60 * 60)


def activate_account(mobile: str, id_tail: str, password: str) -> User:
    """First sign-in of a learner whom the academy imported (no password yet).

    ``id_tail`` is the last 6 characters of the ID number on file (a lower-case x, spaces and
    full-width digits are accepted). When the mobile number, the ID tail and "no password
    yet" all match an active account, sets ``password`` (password rules as for registration),
    audits ``account.activated`` and returns the user. Otherwise raises ``AccountError`` with
    ``ActivationFailed`` with the single message ``ACTIVATION_FAILED`` (audited as
    ``account.activation_failed``), so the page reveals neither whether the number exists nor
    which part was wrong; a new password that breaks ``check_password_rules`` raises
    ``AccountError`` (only once the details matched). After 5 wrong tries for one number in an
    hour every try is refused (``ActivationFailed``, audited as ``account.activation_locked``).
    """
    try:
        mobile = normalise_mobile(mobile)
    except InvalidMobile:
        mobile = clean(mobile)
    tail = digits_text(id_tail)
    key = f"activate:m:{mobile}"
    if ratelimit.exceeded(key, ACTIVATION_LIMIT_PER_MOBILE):
        record("account.activation_locked", mobile_tail=mobile[-4:])
        raise ActivationFailed("尝试次数太多，请1小时后再试，或带身份证到学院找工作人员开通")
    user = db.session.scalar(select(User).where(User.mobile == mobile))
    matches = (
        user is not None
        and user.password_hash is None
        and user.is_active_account
        and bool(user.id_number)
        and len(tail) == 6
        and hmac.compare_digest(user.id_number[-6:], tail)
    )
    if not matches:
        ratelimit.hit(key, ACTIVATION_LIMIT_PER_MOBILE)
        record("account.activation_failed", actor=user, mobile_tail=mobile[-4:])
        raise ActivationFailed(ACTIVATION_FAILED)
    check_password_rules(password, mobile=mobile)
    user.password_hash = _hash(password)
    user.session_version += 1
    record("account.activated", actor=user, obj=user)
    return user


def change_password(user: User, current: str, new: str) -> None:
    """Change ``user``'s password after checking the current one; ends other sessions.

    Bumps ``session_version`` so every other session and remember-me cookie stops working
    (the view signs this browser in again). Raises ``AccountError`` for a wrong current
    password or a new password that breaks ``check_password_rules``.
    """
    if not user.password_hash or not check_password_hash(user.password_hash, current):
        raise AccountError("当前密码不正确")
    check_password_rules(new, mobile=user.mobile)
    user.password_hash = _hash(new)
    user.session_version += 1
    record("auth.password_changed", actor=user, obj=user)


def reset_password(user: User, new: str, *, actor: User) -> None:
    """An administrator sets a new password for ``user``; all of ``user``'s sessions end.

    Raises ``PermissionDenied`` unless ``actor`` is an admin, ``AccountError`` for a password
    that breaks ``check_password_rules``. Audited as ``auth.password_reset``.
    """
    if not actor.is_admin:
        raise PermissionDenied("只有管理员可以重置密码")
    check_password_rules(new, mobile=user.mobile)
    user.password_hash = _hash(new)
    user.session_version += 1
    record("auth.password_reset", actor=actor, obj=user)


def create_staff(mobile: str, name: str, password: str, roles: list[Role], *, actor: User) -> User:
    """An administrator creates an instructor, administrator or judge account.

    If the mobile number already has an account (e.g. a learner who becomes an instructor),
    the roles are added to it instead and the password is left unchanged. Raises
    ``PermissionDenied`` unless ``actor`` is an admin, ``AccountError`` for a bad mobile
    number, name or password or when no role is given. Audited (``account.created`` and one
    ``account.role_granted`` per role).
    """
    if not actor.is_admin:
        raise PermissionDenied("只有管理员可以创建教师或管理员账号")
    if not roles:
        raise AccountError("至少选择一个角色")
    try:
        mobile = normalise_mobile(mobile)
    except InvalidMobile as exc:
        raise AccountError(str(exc)) from None
    user = db.session.scalar(select(User).where(User.mobile == mobile))
    if user is None:
        check_password_rules(password, mobile=mobile)
        user = User(mobile=mobile, name=validate_name(name), password_hash=_hash(password))
        db.session.add(user)
        db.session.flush()
        record("account.created", actor=actor, obj=user)
    for role in roles:
        grant_role(user, role, actor=actor)
    db.session.flush()
    return user


def grant_role(user: User, role: Role, *, actor: User) -> None:
    """Give ``user`` the ``role`` (no-op if held); audited as ``account.role_granted``.

    Raises ``PermissionDenied`` unless ``actor`` is an admin.
    """
    if not actor.is_admin:
        raise PermissionDenied("只有管理员可以修改角色")
    if user.has_role(role):
        return
    user.roles.append(UserRole(role=role))
    db.session.flush()
    record("account.role_granted", actor=actor, obj=user, role=str(role))


def revoke_role(user: User, role: Role, *, actor: User) -> None:
    """Take ``role`` from ``user`` (no-op if not held); audited.

    Raises ``PermissionDenied`` unless ``actor`` is an admin, and ``AccountError`` when an
    administrator tries to remove their own admin role (the academy would lose its last
    way in).
    """
    if not actor.is_admin:
        raise PermissionDenied("只有管理员可以修改角色")
    if user.id == actor.id and role == Role.ADMIN:
        raise AccountError("不能取消自己的管理员身份")
    for r in list(user.roles):
        if r.role == role:
            user.roles.remove(r)
            record("account.role_revoked", actor=actor, obj=user, role=str(role))


def get_user(user_id: int) -> User:
    """Return the user or raise ``NotFound``."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("找不到这个账号")
    return user


def load_session_user(session_id: str) -> User | None:
    """Flask-Login loader: ``"<id>:<session_version>"`` → the user, or None if stale."""
    try:
        raw_id, raw_version = session_id.split(":", 1)
        user = db.session.get(User, int(raw_id), options=[joinedload(User.roles)])
    except (ValueError, TypeError):
        return None
    if user is None or str(user.session_version) != raw_version or not user.is_active_account:
        return None
    return user
