"""People and their roles."""

from __future__ import annotations

import enum
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from academy.database import TimestampMixin, UTCDateTime
from academy.extensions import db


class Role(enum.StrEnum):
    """What a person may do. A person may hold several roles."""

    LEARNER = "learner"
    INSTRUCTOR = "instructor"
    ADMIN = "admin"
    JUDGE = "judge"


# Display labels (lazy: shown in the visitor's language; ``str()`` them outside templates).
ROLE_LABELS = {Role.LEARNER: _l("学员"), Role.INSTRUCTOR: _l("教师"), Role.ADMIN: _l("管理员"), Role.JUDGE: _l("裁判")}

OCCUPATION_GROUPS = ("货车司机", "网约车司机", "快递员", "外卖员", "网络主播", "网约家政", "网络作家", "其他")
EDUCATION_LEVELS = ("小学", "初中", "高中", "中专", "技校", "职高", "大专", "本科", "硕士及以上")
# Levels that count as upper-secondary completion (entry rule for 高起专 / 高起本).
UPPER_SECONDARY_OR_ABOVE = ("高中", "中专", "技校", "职高", "大专", "本科", "硕士及以上")
POLITICAL_STATUSES = ("群众", "中共党员", "中共预备党员", "共青团员", "民主党派")
DISTRICTS = (
    "章贡区", "南康区", "赣县区", "瑞金市", "龙南市", "信丰县", "大余县", "上犹县", "崇义县", "安远县",
    "定南县", "全南县", "宁都县", "于都县", "兴国县", "会昌县", "寻乌县", "石城县",
)


class User(TimestampMixin, UserMixin, db.Model):
    """A person with an account: learner, instructor, administrator or judge.

    ``mobile`` (11 digits) is the login. ``id_number`` is optional for self-registered
    learners but unique when present (18 characters, upper-case X, GB 11643-1999).
    ``session_version`` is bumped on logout-everywhere and password change, which
    invalidates remember-me cookies issued before.
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    mobile: Mapped[str] = mapped_column(String(11), unique=True)
    name: Mapped[str] = mapped_column(String(40), index=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    id_number: Mapped[str | None] = mapped_column(String(18), unique=True)
    gender: Mapped[str | None] = mapped_column(String(2))
    birth_date: Mapped[date | None] = mapped_column(Date)
    district: Mapped[str | None] = mapped_column(String(20), index=True)
    occupation_group: Mapped[str | None] = mapped_column(String(20), index=True)
    platform: Mapped[str | None] = mapped_column(String(60), index=True)
    education: Mapped[str | None] = mapped_column(String(20))
    political_status: Mapped[str | None] = mapped_column(String(20))
    photo_path: Mapped[str | None] = mapped_column(String(255))
    is_active_account: Mapped[bool] = mapped_column(default=True)
    session_version: Mapped[int] = mapped_column(default=1)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Loaded on first use: the signed-in user's roles come with it (``load_session_user``);
    # lists that show roles ask for them (``selectinload(User.roles)``). Eager loading here made
    # every page that lists people issue one extra query per batch of users loaded.
    roles: Mapped[list[UserRole]] = relationship(back_populates="user", cascade="all, delete-orphan")

    # --- Flask-Login ---------------------------------------------------------------
    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.is_active_account

    def get_id(self) -> str:
        """Session identifier: user id and session version, so old cookies stop working."""
        return f"{self.id}:{self.session_version}"

    # --- roles -------------------------------------------------------------------
    @property
    def role_set(self) -> set[Role]:
        return {Role(r.role) for r in self.roles}

    def has_role(self, *roles: Role | str) -> bool:
        """True when the person holds any of ``roles``."""
        mine = self.role_set
        return any(Role(r) in mine for r in roles)

    @property
    def is_admin(self) -> bool:
        return self.has_role(Role.ADMIN)

    @property
    def is_instructor(self) -> bool:
        return self.has_role(Role.INSTRUCTOR)

    @property
    def is_learner(self) -> bool:
        return self.has_role(Role.LEARNER)

    @property
    def is_staff(self) -> bool:
        return self.has_role(Role.ADMIN, Role.INSTRUCTOR)


class UserRole(db.Model):
    """One role held by one person."""

    __tablename__ = "user_roles"
    __table_args__ = (UniqueConstraint("user_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    user: Mapped[User] = relationship(back_populates="roles")
