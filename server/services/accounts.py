"""Users, passwords and bearer tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from cachetools import TTLCache
from flask import current_app
from sqlalchemy import bindparam, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import make_transient_to_detached
from werkzeug.security import check_password_hash, generate_password_hash

from server.extensions import db
from server.models import ApiToken, Enterprise, Role, User, utcnow
from server.services import audit
from server.services.app_state import per_app
from server.services.errors import ErrorCode, Invalid, NotFound, Unauthorized

# Checked against when the user does not exist, so a wrong name costs as much as a wrong
# password and response times do not reveal which usernames exist.
_DUMMY_HASH = generate_password_hash("lantian-dummy-password")
MIN_PASSWORD_LENGTH = 8
# One @, no spaces, a dot in the domain: enough to catch typos; the mail server decides.
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}")


def normalise_username(raw: str) -> str:
    """The one spelling of a username that is stored, looked up and rate-limited.

    NFKC folds full-width letters and compatibility forms (ＳＵＰ → SUP, no-break and
    ideographic spaces → space), and `str.strip` removes every Unicode whitespace at either
    end (\t, \u3000, \xa0, \u2003 …). A login limit keyed on anything else would give each
    spelling of one account its own allowance.
    """
    return unicodedata.normalize("NFKC", raw).strip()


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def add_user(
    username: str,
    role: str,
    password: str,
    enterprise_id: int | None = None,
    city: str | None = None,
    display_name: str = "",
    badge_no: str | None = None,
    email: str | None = None,
) -> User:
    """Create a user; scrypt (werkzeug's default KDF) hashes the password. `email` is where
    notifications go (none: the user is not mailed)."""
    username = normalise_username(username)
    errors: dict[str, list[str]] = {}
    badge_no = _badge_problems(badge_no, role, errors)
    email = (email or "").strip() or None
    if email is not None and not EMAIL.fullmatch(email):
        errors["email"] = [f"邮箱格式有误 / not an email address: {email!r}"]
    if role not in {r.value for r in Role}:
        errors["role"] = [f"须为 {', '.join(r.value for r in Role)} 之一 / unknown role {role!r}"]
    if len(password) < MIN_PASSWORD_LENGTH:
        errors["password"] = [f"至少{MIN_PASSWORD_LENGTH}位 / at least {MIN_PASSWORD_LENGTH} chars"]
    if not username or len(username) > 80:
        errors["username"] = ["须为1–80个字符 / must be 1–80 characters"]
    elif db.session.scalar(select(User).where(User.username == username)):
        errors["username"] = [f"用户名已存在 / username {username!r} already exists"]
    if role == Role.ENTERPRISE and enterprise_id is None:
        errors["enterprise"] = ["企业用户须绑定企业 / an enterprise user needs --enterprise"]
    if role != Role.ENTERPRISE and enterprise_id is not None:
        errors["enterprise"] = ["仅企业用户可绑定企业 / only enterprise users have one"]
    if enterprise_id is not None and db.session.get(Enterprise, enterprise_id) is None:
        errors["enterprise"] = [f"企业不存在 / no enterprise with id {enterprise_id}"]
    if errors:
        raise Invalid(ErrorCode.USER_INVALID, "用户信息有误 / invalid user", errors)
    user = User(
        username=username,
        role=role,
        password_hash=generate_password_hash(password, current_app.config["PASSWORD_HASH_METHOD"]),
        enterprise_id=enterprise_id,
        city=city,
        display_name=display_name or username,
        badge_no=badge_no,
        email=email,
    )
    db.session.add(user)
    audit.record_user("user.added", user)
    db.session.flush()
    return user


# Letters, digits, - and the CJK a province prefix uses (晋执00001); no spaces or punctuation.
BADGE_PATTERN = re.compile(r"[0-9A-Za-z\-\u4e00-\u9fff]{4,40}")
BADGE_ROLES = (Role.INSPECTOR, Role.SUPERVISOR)


def _badge_problems(
    raw: str | None, role: str, errors: dict[str, list[str]], user: User | None = None
) -> str | None:
    """The 执法证号 in its normal form (None: none), noting what is wrong with it in `errors`."""
    if raw is None or not raw.strip():
        return None
    badge = raw.strip().upper()
    if role not in BADGE_ROLES:
        errors["badge"] = [
            "仅检查员和监管人员有执法证号 / only inspectors and supervisors have one"
        ]
    elif not BADGE_PATTERN.fullmatch(badge):
        errors["badge"] = ["执法证号须为4–40位汉字、字母、数字或- / 4–40 CJK, letters, digits or -"]
    else:
        holder = db.session.scalar(select(User).where(User.badge_no == badge))
        if holder is not None and holder is not user:
            errors["badge"] = [
                f"执法证号已被他人使用（{holder.username}）/ already {holder.username}'s"
            ]
    return badge


def set_badge(username: str, badge_no: str | None, actor: User | None = None) -> User:
    """Record (or clear, with None or "") the 执法证号 of an inspector or supervisor."""
    user = db.session.scalar(select(User).where(User.username == normalise_username(username)))
    if user is None:
        raise NotFound(ErrorCode.USER_NOT_FOUND, f"用户不存在 / no user {username!r}")
    errors: dict[str, list[str]] = {}
    badge = _badge_problems(badge_no, user.role, errors, user)
    if errors:
        raise Invalid(ErrorCode.USER_INVALID, "执法证号有误 / invalid badge number", errors)
    if user.badge_no != badge:
        user.badge_no = badge
        audit.record_user("user.badge_set", user, actor)
    try:
        db.session.flush()
    except IntegrityError:  # the same number given to someone else at this very moment
        db.session.rollback()
        raise Invalid(
            ErrorCode.USER_INVALID,
            "执法证号有误 / invalid badge number",
            {"badge": [f"执法证号已被他人使用 / {badge} is already another officer's"]},
        ) from None
    return user


def colleagues(user: User) -> list[User]:
    """The active inspectors and supervisors `user` may name on a record: their city's, or
    everyone's for a user with no city."""
    query = select(User).where(User.active.is_(True), User.role.in_(BADGE_ROLES))
    if user.city:
        query = query.where((User.city == user.city) | User.city.is_(None))
    return list(db.session.scalars(query.order_by(User.username)))


def issue_token(username: str, password: str, ttl: timedelta) -> tuple[str, User, datetime]:
    """Check the password and return a new bearer token, its user and its expiry."""
    username = normalise_username(username)
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        check_password_hash(_DUMMY_HASH, password)
        raise Unauthorized(
            ErrorCode.AUTH_BAD_CREDENTIALS, "用户名或密码错误 / wrong username or password"
        )
    if not check_password_hash(user.password_hash, password):
        raise Unauthorized(
            ErrorCode.AUTH_BAD_CREDENTIALS, "用户名或密码错误 / wrong username or password"
        )
    token = secrets.token_urlsafe(32)
    expires_at = utcnow() + ttl
    db.session.add(
        ApiToken(user_id=user.id, token_hash=_token_digest(token), expires_at=expires_at)
    )
    db.session.commit()
    return token, user, expires_at


# Runs before every API request, so it is built once: one query, one entity, the token's
# two dates (building the statement each time was a fifth of a 304's CPU).
_USER_BY_TOKEN = (
    select(User, ApiToken.revoked_at, ApiToken.expires_at)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_hash == bindparam("digest"))
)


@dataclass(frozen=True)
class _CheckedToken:
    """A token found valid: a detached copy of its user (never attached to a session; each
    request merges it into its own) and the token's expiry, still checked on every use."""

    user: User
    expires_at: datetime


class CheckedTokens:
    """One app's recently checked tokens, by digest, shared by the worker's threads.

    `generation` counts forgettings: a check that began before one may not store its answer,
    or a token revoked while it was being read would be trusted again.
    """

    def __init__(self, ttl: float) -> None:
        self.lock = threading.Lock()
        # A time of 0 keeps nothing: every request reads its token.
        self.entries: TTLCache[str, _CheckedToken] = TTLCache(maxsize=10_000, ttl=max(0.0, ttl))
        self.generation = 0


TOKENS_CHECKED = "lantian.tokens_checked"  # in app.extensions


def checked_tokens() -> CheckedTokens:
    """This app's token cache."""
    return per_app(TOKENS_CHECKED, lambda: CheckedTokens(current_app.config["TOKEN_CACHE_S"]))


def _detached_copy(user: User) -> User:
    """The user's columns in a new object that looks freshly loaded and belongs to no
    session, so any request can merge it in without a query."""
    copy = User(**{column.key: getattr(user, column.key) for column in inspect(User).column_attrs})
    make_transient_to_detached(copy)
    return copy


def _attached(copy: User) -> User:
    """The cached user in this request's session: the one it already holds, if any (merging
    into it would overwrite its state), else the copy merged in without a query."""
    held = db.session.identity_map.get(inspect(copy).key)
    return held if held is not None else db.session.merge(copy, load=False)


def user_for_token(token: str) -> User:
    """The active user a bearer token belongs to; Unauthorized when invalid or expired.

    Runs before every API request (and every page, for the browser session's token), where
    it was the only query of a checklist 304. A token found valid is trusted by this process
    for TOKEN_CACHE_S (5 s): a revocation, or a change to the user, made by another process
    (`lantian-server users revoke`, another gunicorn worker) takes effect at most that much
    later; one made by this process, at once. Expiry is checked on every request. Refused
    tokens are never kept.
    """
    digest = _token_digest(token)
    checked = checked_tokens()
    with checked.lock:
        known = checked.entries.get(digest)
        generation = checked.generation
    if known is not None:
        if known.expires_at <= utcnow():
            raise Unauthorized(
                ErrorCode.AUTH_TOKEN_EXPIRED, "令牌已过期，请重新登录 / token expired, log in again"
            )
        return _attached(known.user)
    row = db.session.execute(_USER_BY_TOKEN, {"digest": digest}).first()
    if row is None or row.revoked_at is not None:
        raise Unauthorized(ErrorCode.AUTH_TOKEN_INVALID, "令牌无效 / invalid token")
    user, _, expires_at = row
    if expires_at <= utcnow():
        raise Unauthorized(
            ErrorCode.AUTH_TOKEN_EXPIRED, "令牌已过期，请重新登录 / token expired, log in again"
        )
    if not user.active:
        raise Unauthorized(ErrorCode.AUTH_ACCOUNT_DISABLED, "账号已停用 / account disabled")
    entry = _CheckedToken(_detached_copy(user), expires_at)
    with checked.lock:
        if checked.generation == generation:  # nothing was revoked while we read
            checked.entries[digest] = entry
    return user


def _forget_checked(*, digest: str | None = None, user_id: int | None = None) -> None:
    """Drop this process's trust in a token, or in every token of a user, and keep checks
    already under way from storing what they read before."""
    checked = checked_tokens()
    with checked.lock:
        checked.generation += 1
        for key, known in list(checked.entries.items()):
            if key == digest or known.user.id == user_id:
                checked.entries.pop(key, None)


def revoke_tokens(username: str) -> int:
    """Revoke every live token of a user; returns how many were revoked."""
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(ErrorCode.USER_NOT_FOUND, f"用户不存在 / no user {username!r}")
    now = utcnow()
    count = 0
    for token in user.tokens:
        if token.revoked_at is None and token.expires_at > now:
            token.revoked_at = now
            count += 1
    audit.record_user("user.revoked", user, tokens_revoked=count)
    db.session.commit()
    _forget_checked(user_id=user.id)
    return count


def revoke_token(token: str) -> None:
    """End one session (a web logout); other devices of the user stay signed in."""
    digest = _token_digest(token)
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        db.session.commit()
    _forget_checked(digest=digest)
