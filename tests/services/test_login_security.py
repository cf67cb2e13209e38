"""Sign-in under attack: unknown, wrong and throttled answers cannot tell accounts apart, failed
attempts slow down the client that makes them (never the owner elsewhere), passwords are
argon2id hashes (old scrypt hashes still verify and are upgraded at the next sign-in), and the
password policy refuses short, repetitive and well-known passwords."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select, update

from core import db, passwords
from core.models import LoginAttempt, User
from core.permissions import SYSTEM, Actor
from core.services import users
from core.timeutil import pin, utcnow

ADMIN = Actor("root", "admin")
PASSWORD = "Tea-and-rice-7"


@pytest.fixture
def accounts(db_url: str) -> None:
    users.create_user("root", PASSWORD, "admin", SYSTEM)
    users.create_user("clerk1", PASSWORD, "clerk", SYSTEM)


def _answers(username: str, client: str, attempts: int) -> list[tuple[str | None, bool]]:
    """Each answer and whether it asked to wait (the wait itself depends on the ticking clock)."""
    results = [users.authenticate(username, "Wrong-guess-1", client) for _ in range(attempts)]
    return [(r.reason, r.retry_after > 0) for r in results]


def test_unknown_wrong_and_deactivated_accounts_answer_alike(accounts: None) -> None:
    """The same sequence of answers, throttling included, whatever the username."""
    users.create_user("gone", PASSWORD, "clerk", SYSTEM)
    users.set_active("gone", False, ADMIN)
    existing = _answers("clerk1", "10.0.0.1", 8)
    assert existing == _answers("no-such-user", "10.0.0.2", 8) == _answers("gone", "10.0.0.3", 8)
    assert existing[0] == ("invalid", False) and existing[-1] == ("throttled", True)
    assert users.authenticate("gone", PASSWORD, "10.0.0.4").reason == "invalid"  # right password, inactive


def test_every_answer_costs_one_password_hash_check(accounts: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Unknown user, wrong password, throttled client and success all verify one hash of the
    same kind, so the answer time does not tell them apart."""
    checked: list[str] = []
    real = passwords.verify_password

    def counting(password: str, stored: str) -> bool:
        checked.append(stored.split("$")[1])
        return real(password, stored)

    monkeypatch.setattr(users, "verify_password", counting)
    users.authenticate("no-such-user", PASSWORD, "c1")
    users.authenticate("clerk1", "Wrong-guess-1", "c1")
    users.authenticate("clerk1", PASSWORD, "c2")
    _answers("clerk1", "c3", users.PAIR_BACKOFF.free + 1)
    checked.clear()
    assert users.authenticate("clerk1", PASSWORD, "c3").reason == "throttled"
    assert checked == ["argon2id"]
    assert len(set(passwords.hash_password(PASSWORD).split("$")[3:4]) | {passwords.dummy_hash().split("$")[3]}) == 1


def test_an_attacker_cannot_lock_the_owner_out(accounts: None) -> None:
    _answers("clerk1", "203.0.113.9", 30)
    assert users.authenticate("clerk1", PASSWORD, "203.0.113.9").reason == "throttled"  # the attacker waits
    result = users.authenticate("clerk1", PASSWORD, "198.51.100.7")  # the owner, at the shop
    assert result.user is not None and result.user.username == "clerk1"


def test_failures_back_off_exponentially_and_the_wait_passes(accounts: None) -> None:
    free = users.PAIR_BACKOFF.free
    answers = _answers("clerk1", "c1", free)
    assert answers == [("invalid", False)] * free
    first = users.authenticate("clerk1", PASSWORD, "c1")  # even the right password waits
    assert first.reason == "throttled" and first.user is None and first.retry_after > 0
    with pin(utcnow() + dt.timedelta(seconds=first.retry_after + 1)):
        assert users.authenticate("clerk1", "Wrong-guess-1", "c1").reason == "invalid"
        second = users.authenticate("clerk1", PASSWORD, "c1")
        assert second.reason == "throttled" and second.retry_after >= 2 * first.retry_after - 1
    with pin(utcnow() + dt.timedelta(seconds=first.retry_after + second.retry_after + 2)):
        assert users.authenticate("clerk1", PASSWORD, "c1").user is not None
        assert users.authenticate("clerk1", "Wrong-guess-1", "c1").reason == "invalid"  # success resets


def test_refused_attempts_are_not_counted(accounts: None) -> None:
    _answers("clerk1", "c1", users.PAIR_BACKOFF.free + 5)
    with db.transaction() as s:
        stored = s.execute(select(LoginAttempt.success)).scalars().all()
    assert stored == [False] * users.PAIR_BACKOFF.free


def test_one_client_spraying_many_usernames_is_slowed_down(accounts: None) -> None:
    for i in range(users.CLIENT_BACKOFF.free):
        assert users.authenticate(f"user{i}", "Wrong-guess-1", "sprayer").reason == "invalid"
    assert users.authenticate("clerk1", PASSWORD, "sprayer").reason == "throttled"
    assert users.authenticate("clerk1", PASSWORD, "someone-else").user is not None


def test_new_hashes_are_argon2id_and_old_scrypt_hashes_upgrade_at_sign_in(accounts: None) -> None:
    with db.transaction() as s:
        assert s.execute(select(User.password_hash).where(User.username == "clerk1")).scalar_one() \
            .startswith("$argon2id$")
    salt = b"0123456789abcdef"
    digest = hashlib.scrypt(PASSWORD.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    legacy = f"scrypt$16384$8$1${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"
    with db.transaction() as s:
        s.execute(update(User).where(User.username == "clerk1").values(password_hash=legacy))
    assert users.authenticate("clerk1", "Wrong-guess-1", "c1").user is None
    with db.transaction() as s:  # a failed attempt changes nothing
        assert s.execute(select(User.password_hash).where(User.username == "clerk1")).scalar_one() == legacy
    assert users.authenticate("clerk1", PASSWORD, "c1").user is not None
    with db.transaction() as s:
        upgraded = s.execute(select(User.password_hash).where(User.username == "clerk1")).scalar_one()
    assert upgraded.startswith("$argon2id$") and passwords.verify_password(PASSWORD, upgraded)
    assert users.authenticate("clerk1", PASSWORD, "c2").user is not None


@pytest.mark.parametrize(("password", "codes"), [
    ("Aa1aaaaa", ["issue.pw_length"]),
    ("Tea-rice7", ["issue.pw_length"]),
    ("Aa1aaaaaaaaa", ["issue.pw_common"]),  # long enough, but three different characters
    ("password123", ["issue.pw_common"]),
    ("Qwerty123456", ["issue.pw_common"]),
    ("woaini5201314", ["issue.pw_common"]),
    ("1qaz2wsx3edc", ["issue.pw_common"]),
    ("onlyletters", ["issue.pw_mix"]),
    ("clerk1-is-me9", ["issue.pw_username"]),
    ("Tea-and-rice-7", []),
])
def test_password_policy(password: str, codes: list[str]) -> None:
    assert [i.message for i in users.password_issues(password, "clerk1")] == codes


def test_the_common_password_list_is_a_real_list() -> None:
    common = passwords.common_passwords()
    assert len(common) >= 2000
    assert {"password", "123456", "qwerty", "iloveyou", "woaini1314"} <= common


def test_generated_passwords_pass_the_policy() -> None:
    generated = {passwords.generate_password() for _ in range(20)}
    assert len(generated) == 20 and all(not users.password_issues(p, None) for p in generated)


def test_the_admin_sees_failures_and_can_clear_them(accounts: None) -> None:
    _answers("clerk1", "c1", users.PAIR_BACKOFF.free + 1)
    listed = users.list_users(ADMIN).set_index("username")
    assert listed.loc["clerk1", "failed_logins"] == users.PAIR_BACKOFF.free
    assert listed.loc["root", "failed_logins"] == 0
    users.unlock_user("clerk1", ADMIN)
    assert users.list_users(ADMIN).set_index("username").loc["clerk1", "failed_logins"] == 0
    assert users.authenticate("clerk1", PASSWORD, "c1").user is not None


def test_parallel_guesses_do_not_slip_past_the_backoff(accounts: None) -> None:
    """Twelve guesses at once from one client: only the free ones are heard (PostgreSQL takes
    turns on an advisory lock; SQLite's BEGIN IMMEDIATE serialises anyway)."""
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda _: users.authenticate("clerk1", "Wrong-guess-1", "burst").reason, range(12)))
    assert answers.count("invalid") == users.PAIR_BACKOFF.free
    assert answers.count("throttled") == 12 - users.PAIR_BACKOFF.free
