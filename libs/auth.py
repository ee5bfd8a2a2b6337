"""JWT bearer auth with pinned algorithms, the roles and scopes of API.md, and development tokens."""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import jwt
from pydantic import BaseModel, ValidationError, field_validator
from starlette.requests import Request  # fastapi.Request itself; FastAPI injects it the same way

from libs.settings import Settings

if TYPE_CHECKING:
    # Imported where a request is refused: it loads FastAPI and SQLAlchemy, and `eastwest token` (which
    # only signs) should not wait for them.
    from libs.api.problems import Problem


class Role(StrEnum):
    admin = "admin"
    partner = "partner"
    station = "station"
    recruiter = "recruiter"
    training = "training"
    operator = "operator"  # a bus company: its own trips and their manifests (bus)
    bureau = "bureau"  # a Jiangsu city's human-resources bureau: work in its city (monitoring)
    public = "public"


class TokenKind(StrEnum):
    """Who holds the token: a person at a screen, or a service account (a partner's client, an integration).
    A service account's tokens are short-lived: it can fetch a new one at any time, a person cannot."""

    person = "person"
    service = "service"


class Claims(BaseModel):
    sub: str
    role: Role
    kind: TokenKind = TokenKind.person
    iat: int
    exp: int
    provinces: list[str] = []
    station_id: str | None = None
    employer_id: str | None = None
    base_id: str | None = None
    operator_id: str | None = None
    city_code: str | None = None

    @field_validator("city_code")
    @classmethod
    def _jiangsu_city(cls, value: str | None) -> str | None:
        if value is not None and not (value.isdigit() and len(value) == 4 and value.startswith("32")):
            raise ValueError("city_code is a Jiangsu city's 4-digit code")
        return value

    @field_validator("provinces")
    @classmethod
    def _two_digits(cls, value: list[str]) -> list[str]:
        if any(len(code) != 2 or not code.isdigit() for code in value):
            raise ValueError("provinces are 2-digit codes")
        return value


@dataclass(frozen=True)
class Principal:
    """Who is calling and what they may see."""

    sub: str
    role: Role
    provinces: tuple[str, ...] = ()
    station_id: str | None = None
    employer_id: str | None = None
    base_id: str | None = None
    operator_id: str | None = None
    city_code: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.admin


_REQUIRED_SCOPE = {
    Role.partner: "provinces",
    Role.station: "station_id",
    Role.recruiter: "employer_id",
    Role.training: "base_id",
    Role.operator: "operator_id",
    Role.bureau: "city_code",
}


VERIFIED_TOKENS_KEPT = 4096


@dataclass
class TokenVerifier:
    """Verifies with a key and an explicit algorithm list; `alg: none` and algorithm confusion are refused."""

    key: Any
    algorithms: list[str]
    audience: str
    issuer: str
    jwks_client: jwt.PyJWKClient | None = field(default=None)
    # The longest lifetime (exp - iat) accepted, by kind of holder: a stolen token is only good that long.
    max_lifetime_seconds: dict[TokenKind, int] = field(
        default_factory=lambda: {TokenKind.person: 24 * 3600, TokenKind.service: 3600}
    )

    def _decode(self, token: str) -> dict[str, Any]:
        """With the JWKS key the token names, or with each configured key in turn: during a rotation the old
        and the new public key are both configured, and a token signed by either is good."""
        keys = (
            [self.jwks_client.get_signing_key_from_jwt(token).key]
            if self.jwks_client
            else list(self.key)
            if isinstance(self.key, tuple)
            else [self.key]
        )
        for index, key in enumerate(keys):
            try:
                decoded: dict[str, Any] = jwt.decode(
                    token,
                    key,
                    algorithms=self.algorithms,
                    audience=self.audience,
                    issuer=self.issuer,
                    options={"require": ["exp", "sub", "iat"]},
                )
                return decoded
            except jwt.InvalidSignatureError:
                if index == len(keys) - 1:
                    raise
        raise jwt.InvalidSignatureError("no key")

    # Tokens already verified, until they expire: a client sends the same token with every request, and checking
    # its signature again was a tenth of a short request's CPU. The key is the whole token, signature included.
    _verified: dict[str, tuple[Principal, int]] = field(default_factory=dict, init=False, repr=False)

    def verify(self, token: str) -> Principal:
        known = self._verified.get(token)
        if known is not None and time.time() < known[1]:
            return known[0]
        caller, expires = self._verify(token)
        if len(self._verified) >= VERIFIED_TOKENS_KEPT:
            self._verified.clear()
        self._verified[token] = (caller, expires)
        return caller

    def _verify(self, token: str) -> tuple[Principal, int]:
        try:
            payload = self._decode(token)
            claims = Claims.model_validate(payload)
        except jwt.ExpiredSignatureError as error:
            raise _unauthorized("令牌已过期") from error
        except (jwt.PyJWTError, ValidationError) as error:
            raise _unauthorized("令牌无效") from error
        longest = self.max_lifetime_seconds[claims.kind]
        if claims.exp - claims.iat > longest:
            raise _unauthorized(
                f"令牌有效期（{(claims.exp - claims.iat) / 3600:g} 小时）超过上限 {longest / 3600:g} 小时，请重新签发"
            )
        scope_claim = _REQUIRED_SCOPE.get(claims.role)
        if scope_claim is not None and not getattr(claims, scope_claim):
            raise _unauthorized(f"{claims.role} 角色的令牌必须包含 {scope_claim}")
        caller = Principal(
            sub=claims.sub,
            role=claims.role,
            provinces=tuple(claims.provinces),
            station_id=claims.station_id,
            employer_id=claims.employer_id,
            base_id=claims.base_id,
            operator_id=claims.operator_id,
            city_code=claims.city_code,
        )
        return caller, claims.exp


def _unauthorized(detail: str) -> Problem:
    from libs.api.problems import Problem

    return Problem(401, detail, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


def issue_token(
    secret: str,
    *,
    role: Role,
    sub: str | None = None,
    provinces: list[str] | None = None,
    station_id: str | None = None,
    employer_id: str | None = None,
    base_id: str | None = None,
    operator_id: str | None = None,
    city_code: str | None = None,
    kind: TokenKind = TokenKind.person,
    ttl_seconds: int = 12 * 3600,
    audience: str = "eastwest",
    issuer: str = "eastwest",
) -> str:
    """A development token signed with the shared secret (HS256); production tokens come from the IdP."""
    now = int(time.time())
    payload: dict[str, Any] = {
        "sub": sub or f"dev-{role.value}-{uuid.uuid4().hex[:8]}",
        "role": role.value,
        "kind": kind.value,
        "iat": now,
        "exp": now + ttl_seconds,
        "aud": audience,
        "iss": issuer,
    }
    extras = {
        "provinces": provinces,
        "station_id": station_id,
        "employer_id": employer_id,
        "base_id": base_id,
        "operator_id": operator_id,
        "city_code": city_code,
    }
    payload.update({name: value for name, value in extras.items() if value})
    return jwt.encode(payload, secret, algorithm="HS256")


def principal(request: Request) -> Principal:
    """FastAPI dependency: the verified caller (401 without a valid bearer token)."""
    from libs.api.problems import Problem

    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Problem(401, "缺少 Bearer 令牌", headers={"WWW-Authenticate": "Bearer"})
    verifier: TokenVerifier = request.app.state.token_verifier
    return verifier.verify(token.strip())


def require_role(caller: Principal, *roles: Role) -> None:
    if caller.role not in roles:
        from libs.api.problems import Problem

        raise Problem(403, f"角色 {caller.role} 无权执行此操作")


_PEM = re.compile(r"-----BEGIN [A-Z ]+-----.+?-----END [A-Z ]+-----", re.DOTALL)


def public_keys(text: str) -> tuple[str, ...]:
    """Every PEM key in `EW_JWT_PUBLIC_KEY`: the old and the new one, one after the other, during a rotation."""
    return tuple(_PEM.findall(text)) or (text,)


def verifier_from_settings(settings: Settings) -> TokenVerifier:
    """Production: a public key or JWKS (asymmetric algorithms only); development: the shared secret."""
    audience, issuer = settings.jwt_audience, settings.jwt_issuer
    lifetimes = {
        TokenKind.person: settings.jwt_max_lifetime_person_seconds,
        TokenKind.service: settings.jwt_max_lifetime_service_seconds,
    }
    if settings.jwt_jwks_url or settings.jwt_public_key:
        algorithms = [alg for alg in settings.jwt_algorithms if not alg.startswith("HS")] or ["RS256"]
        jwks = jwt.PyJWKClient(settings.jwt_jwks_url) if settings.jwt_jwks_url else None
        return TokenVerifier(
            public_keys(settings.jwt_public_key) if settings.jwt_public_key else None,
            algorithms,
            audience,
            issuer,
            jwks_client=jwks,
            max_lifetime_seconds=lifetimes,
        )
    if settings.jwt_secret is None:
        raise RuntimeError(
            "set EW_JWT_SECRET (development) or EW_JWT_PUBLIC_KEY / EW_JWT_JWKS_URL (production)"
        )
    return TokenVerifier(
        settings.jwt_secret.get_secret_value(), ["HS256"], audience, issuer, max_lifetime_seconds=lifetimes
    )
