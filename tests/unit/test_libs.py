"""Pure pieces of libs: cursors, problem details, tokens, settings, idempotency fingerprints."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr
from sqlalchemy.exc import (
    IntegrityError,
    InterfaceError,
    InternalError,
    OperationalError,
    ProgrammingError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout

from libs.api.idempotency import check_key, fingerprint
from libs.api.pagination import decode_cursor, encode_cursor
from libs.api.problems import Problem
from libs.auth import Role, TokenKind, TokenVerifier, issue_token, verifier_from_settings
from libs.db import unavailable
from libs.events.envelope import nats_headers, new_event
from libs.settings import Settings


def test_cursor_round_trip_and_tampering() -> None:
    cursor = encode_cursor("2026-11-28T00:00:00+00:00", "abc")
    assert decode_cursor(cursor, 2) == ["2026-11-28T00:00:00+00:00", "abc"]
    assert decode_cursor(None, 2) is None
    for bad in ("%%%", base64.urlsafe_b64encode(b"[1]").decode(), "bm90IGpzb24"):
        with pytest.raises(Problem) as raised:
            decode_cursor(bad, 2)
        assert raised.value.status == 422
        assert raised.value.errors and raised.value.errors[0]["field"] == "query.cursor"


def test_problem_body_is_rfc9457() -> None:
    body = Problem(409, "已存在", existing_id="x").body("/v1/things")
    assert body["type"].endswith("/conflict")
    assert body["title"] == "与现有数据冲突"
    assert body["status"] == 409 and body["instance"] == "/v1/things" and body["existing_id"] == "x"


def _verifier(secret: str = "s" * 32) -> TokenVerifier:
    return TokenVerifier(secret, ["HS256"], "eastwest", "eastwest")


def test_token_round_trip_and_scope_claims() -> None:
    token = issue_token("s" * 32, role=Role.partner, provinces=["61", "52"])
    principal = _verifier().verify(token)
    assert principal.role is Role.partner and principal.provinces == ("61", "52")
    with pytest.raises(Problem):  # a partner without provinces has no scope
        _verifier().verify(issue_token("s" * 32, role=Role.partner))
    bureau = _verifier().verify(issue_token("s" * 32, role=Role.bureau, city_code="3205"))
    assert bureau.role is Role.bureau and bureau.city_code == "3205"


@pytest.mark.parametrize(
    "token",
    [
        issue_token("other-secret" * 3, role=Role.admin),
        issue_token("s" * 32, role=Role.admin, ttl_seconds=-10),
        issue_token("s" * 32, role=Role.admin, audience="someone-else"),
        issue_token("s" * 32, role=Role.bureau),  # a bureau names its city
        issue_token("s" * 32, role=Role.bureau, city_code="320505"),  # a city, not a county
        issue_token("s" * 32, role=Role.bureau, city_code="6101"),  # in Jiangsu
        "not.a.token",
    ],
)
def test_bad_tokens_are_401(token: str) -> None:
    with pytest.raises(Problem) as raised:
        _verifier().verify(token)
    assert raised.value.status == 401


@pytest.mark.parametrize(
    ("kind", "hours", "accepted"),
    [
        (TokenKind.person, 24, True),
        (TokenKind.person, 25, False),
        (TokenKind.person, 24 * 365, False),
        (TokenKind.service, 1, True),
        (TokenKind.service, 2, False),
    ],
)
def test_token_lifetime_is_capped_by_kind(kind: TokenKind, hours: int, accepted: bool) -> None:
    token = issue_token("s" * 32, role=Role.admin, kind=kind, ttl_seconds=hours * 3600)
    if accepted:
        assert _verifier().verify(token).role is Role.admin
        return
    with pytest.raises(Problem) as raised:
        _verifier().verify(token)
    assert raised.value.status == 401 and "上限" in str(raised.value.detail)


def test_token_lifetime_caps_come_from_settings() -> None:
    from libs.auth import verifier_from_settings
    from libs.settings import Settings

    verifier = verifier_from_settings(
        Settings(jwt_secret="s" * 32, jwt_max_lifetime_person_seconds=3600)  # type: ignore[arg-type]
    )
    with pytest.raises(Problem):
        verifier.verify(issue_token("s" * 32, role=Role.admin, ttl_seconds=2 * 3600))


def test_alg_none_is_refused() -> None:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    now = int(time.time())
    claims = {"sub": "x", "role": "admin", "iat": now, "exp": now + 60, "aud": "eastwest", "iss": "eastwest"}
    forged = f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."
    with pytest.raises(Problem):
        _verifier().verify(forged)


def _public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _admin_claims() -> tuple[int, dict[str, object]]:
    now = int(time.time())
    return now, {
        "sub": "ops",
        "role": "admin",
        "iat": now,
        "exp": now + 60,
        "aud": "eastwest",
        "iss": "eastwest",
    }


def test_production_verifier_uses_the_public_key_only() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    settings = Settings(jwt_public_key=_public_pem(key), jwt_algorithms=["RS256", "HS256"])
    verifier = verifier_from_settings(settings)
    assert verifier.algorithms == ["RS256"]
    _, claims = _admin_claims()
    assert verifier.verify(jwt.encode(claims, key, algorithm="RS256")).role is Role.admin
    with pytest.raises(Problem):  # algorithm confusion: the public key as an HMAC secret
        verifier.verify(jwt.encode(claims, "x" * 32, algorithm="HS256"))


def test_a_rotation_trusts_the_old_and_the_new_public_key_at_once() -> None:
    """EW_JWT_PUBLIC_KEY with two PEM keys: tokens signed by either verify while the identity provider switches;
    one signed by a third key does not, nor an expired one (a signature that fits is not tried on other keys)."""
    old, new, stranger = (rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(3))
    pem = _public_pem(old) + _public_pem(new)
    verifier = verifier_from_settings(Settings(jwt_public_key=pem, jwt_algorithms=["RS256"]))
    now, claims = _admin_claims()
    for key in (old, new):
        assert verifier.verify(jwt.encode(claims, key, algorithm="RS256")).sub == "ops"
    with pytest.raises(Problem):
        verifier.verify(jwt.encode(claims, stranger, algorithm="RS256"))
    with pytest.raises(Problem):
        verifier.verify(
            jwt.encode({**claims, "exp": now - 10}, new, algorithm="RS256")
        )  # expired: not retried


def test_development_verifier_needs_a_secret() -> None:
    with pytest.raises(RuntimeError):
        verifier_from_settings(Settings())
    assert verifier_from_settings(Settings(jwt_secret=SecretStr("k" * 32))).algorithms == ["HS256"]


def test_database_url_per_service() -> None:
    settings = Settings(database_urls={"feed": "postgresql+asyncpg://db/feed"})
    assert settings.database_url_for("feed") == "postgresql+asyncpg://db/feed"
    assert settings.database_url_for("supply").startswith("sqlite+aiosqlite:///")
    assert Settings(database_url="postgresql+asyncpg://db/x").database_url_for("supply").endswith("/x")


def test_idempotency_keys_and_fingerprints() -> None:
    assert check_key("order-2026-11-28-001") == "order-2026-11-28-001"
    for bad in ("has space", "x" * 201, "中文"):
        with pytest.raises(Problem):
            check_key(bad)
    assert fingerprint(b"a", "b") != fingerprint(b"ab")


def test_event_envelope_headers_carry_the_id_for_deduplication() -> None:
    event = new_event("supply", "ew.supply.job.published", "job-1", {"id": "job-1"})
    headers = nats_headers(event.model_dump(mode="json"))
    assert headers["Nats-Msg-Id"] == event.id == headers["ce-id"]
    assert event.source == "/eastwest/supply" and event.specversion == "1.0"


class _PostgresError(Exception):
    """What asyncpg's errors carry through SQLAlchemy: the SQLSTATE."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("error", "away"),
    [
        (PoolTimeout("QueuePool limit of size 5 overflow 10 reached"), True),
        (OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked")), True),
        (ConnectionRefusedError(111, "Connect call failed"), True),
        (InterfaceError("SELECT 1", {}, ConnectionResetError("connection was closed")), True),
        (
            InternalError("UPDATE jobs", {}, _PostgresError("25006")),
            True,
        ),  # a read-only standby in a switchover
        (
            OperationalError("SELECT 1", {}, _PostgresError("57P01")),
            True,
        ),  # terminating: administrator command
        (OperationalError("SELECT 1", {}, _PostgresError("08006")), True),  # connection failure
        (OperationalError("SELECT 1", {}, _PostgresError("53300")), True),  # too many connections
        (
            InterfaceError("connect", {}, _PostgresError("28P01")),
            True,
        ),  # a password rotated, pod not restarted
        (OperationalError("SELECT", {}, Exception("no such table: jobs")), False),
        (
            IntegrityError("INSERT", {}, _PostgresError("23505")),
            False,
        ),  # a broken constraint: the event's fault
        (ProgrammingError("SELECT", {}, _PostgresError("42P01")), False),  # a bad statement: the code's fault
        (ValueError("database is locked"), False),
    ],
)
def test_database_unavailable_is_told_from_a_bad_request_or_event(error: Exception, away: bool) -> None:
    """An API answers 503 + Retry-After (not 500), a consumer pauses and retries (never dead-letters)."""
    assert unavailable(error) is away


@pytest.mark.parametrize(
    "text",
    [
        "电焊工\u202e薪高",
        "a\u200bb",
        "\u2066x\u2069",
        "x\ufeff",
        "a\u200fb",
        "two\nlines",
        "cr\rhere",
        "ls\u2028x",
        "a\x85b",
    ],
)
def test_request_text_refuses_what_a_reader_cannot_see(text: str) -> None:
    from pydantic import ValidationError

    from libs.api.schemas import RequestModel

    class Posting(RequestModel):
        title: str

    with pytest.raises(ValidationError) as refused:
        Posting(title=text)
    assert refused.value.errors()[0]["loc"] == ("title",)


def test_prose_fields_keep_their_line_breaks() -> None:
    from libs.api.schemas import RequestModel

    class Posting(RequestModel):
        multiline_fields = frozenset({"description"})
        title: str
        description: str

    posting = Posting(title="电焊工", description="岗位职责：\n1. 焊接\r\n2. 质检\t(两班倒)")
    assert posting.description.count("\n") == 2
