"""Settings of every service, read from `EW_*` variables by the composition root and passed down."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from libs.proxies import DEFAULT_TRUSTED_PROXIES, TrustedProxies, parse_trusted_proxies


class Settings(BaseSettings):
    """One settings object for the whole platform; a service takes what it needs."""

    model_config = SettingsConfigDict(env_prefix="EW_", extra="ignore")

    environment: Literal["dev", "test", "prod"] = "dev"
    data_dir: Path = Path("var")
    # One service alone (containers): its database. All-in-one: unset, each service gets data_dir/<name>.db.
    database_url: str | None = None
    # Per-service URLs when several services share a process but not a database (EW_DATABASE_URLS as JSON).
    database_urls: dict[str, str] = {}
    # PostgreSQL connections per process: kept, and opened beyond them in a burst. `database_pgbouncer`: the
    # URL is a PgBouncer in transaction mode (Kubernetes: the CloudNativePG Pooler), so no prepared statement is
    # kept between transactions.
    database_pool_size: int = Field(default=10, ge=1)
    database_max_overflow: int = Field(default=20, ge=0)
    database_pgbouncer: bool = False
    nats_url: str = "nats://127.0.0.1:4222"
    stream_name: str = "EW"
    stream_replicas: int = 1
    stream_max_age_days: float = 14

    # JWT: a shared secret for development tokens (HS256); in production a public key or a JWKS URL (RS256/ES256).
    jwt_secret: SecretStr | None = None
    jwt_public_key: str | None = None
    jwt_jwks_url: str | None = None
    jwt_algorithms: list[str] = ["HS256"]
    jwt_audience: str = "eastwest"
    jwt_issuer: str = "eastwest"
    # The longest token lifetime (exp - iat) accepted: people (claim kind "person", the default) and service
    # accounts (kind "service"). Longer tokens answer 401.
    jwt_max_lifetime_person_seconds: int = 24 * 3600
    jwt_max_lifetime_service_seconds: int = 3600

    # Personal data: encryption keys by id (EW_PII_KEYS='{"k1": "<base64 32 bytes>"}'), the one new data is
    # written with, and the HMAC key for look-ups. Development gets generated ones under data_dir.
    pii_keys: dict[str, SecretStr] = {}
    pii_active_key: str = "k1"
    pii_hash_key: SecretStr | None = None

    # Service to service: the one synchronous read (bus asks demand for a trip manifest's passenger contacts)
    # carries `Authorization: Internal <internal_secret>`; development gets a generated one under data_dir.
    # Where each service answers when it runs alone (EW_SERVICE_URLS='{"demand": "http://demand:8000"}');
    # all-in-one, the services reach each other in-process instead.
    internal_secret: SecretStr | None = None
    service_urls: dict[str, str] = {}

    # Prometheus: /metrics on its own port (EW_METRICS_PORT), which no Service or ingress exposes, and then not
    # on the public port. Unset: /metrics on the public port, for development only (prod refuses to start).
    metrics_port: int | None = None
    # The proxies whose X-Forwarded-For is believed (libs/proxies.py): comma-separated addresses and CIDRs of
    # the gateway or the ingress controller's pods; loopback by default; "*" is refused.
    # How long a service keeps an idle HTTP connection. Longer than any proxy in front keeps its idle upstream
    # connections (nginx.conf: 30 s; ingress-nginx: 60 s by default), so the proxy always closes first and never
    # sends a request on a connection the service is closing at that moment (the sporadic 502).
    keep_alive_seconds: int = Field(default=75, ge=1)
    trusted_proxies: str = DEFAULT_TRUSTED_PROXIES
    # uvicorn's own setting (read by uvicorn, not by us; checked here): it rewrites the client address from
    # X-Forwarded-For for these peers, taking the LEFT-most entry when it is "*". Set it to trusted_proxies.
    forwarded_allow_ips: str | None = Field(default=None, validation_alias="FORWARDED_ALLOW_IPS")

    max_body_bytes: int = 1_048_576
    max_upload_bytes: int = 10_485_760
    log_level: str = "INFO"
    log_json: bool = True

    # Traces (OpenTelemetry): spans are made and carried across HTTP and NATS (the events' `traceparent`), and
    # log lines carry their trace id; they are exported over OTLP/HTTP only when `otlp_endpoint` is set
    # (e.g. http://collector:4318). `tracing=false` turns all of it off; new traces are kept at
    # `trace_sample_ratio`.
    tracing: bool = True
    otlp_endpoint: str | None = None
    trace_sample_ratio: float = Field(default=1.0, ge=0.0, le=1.0)

    # Readiness: a pod leaves its Service only once its database has been unreachable this long in a row;
    # NATS never takes it out (libs/api/readiness.py).
    # 90 s: a CloudNativePG switchover (10-60 s) keeps every pod in rotation, answering 503 + Retry-After itself.
    readiness_grace_seconds: float = Field(default=90.0, ge=0)

    # How often the outbox backlog, its oldest event's age and the consumers' lag are read for /metrics.
    event_gauges_every_seconds: float = Field(default=15.0, gt=0)
    relay_batch_size: int = 256
    relay_idle_seconds: float = 0.5
    consumer_max_deliver: int = 5
    # How long a request waits for an event it depends on that this service has not handled yet (409 after).
    read_your_writes_seconds: float = 5.0
    # Follow-up visits of a placement (回访), months after its start.
    follow_up_months: list[int] = [1, 3, 6, 12]
    # How often monitoring looks whether last month's dispatch report (调度报表) has been published.
    monitoring_report_check_seconds: float = 3600
    # How often policy looks again at the occasions whose day has come (a month more employed, an item in force).
    policy_sweep_seconds: float = 300
    # How often matching re-plans how recommendations spread over jobs by the places left (0: never).
    matching_spread_seconds: float = 600
    # The factor weights matching ranks with: "hand" (as set in services/matching/features.py ScoreWeights) or
    # "learned" (fitted daily to the outcomes of placements, used when they beat the hand-set ones).
    matching_weights: Literal["hand", "learned"] = "hand"
    # Keep matching's ranking index in data_dir between restarts (a cache: a restart then takes seconds).
    matching_index_cache: bool = True
    # Service text messages (服务短信), sent by demand: "sink" writes what would be sent to
    # <data_dir>/sms-sink.jsonl (the embedded default); "alibaba" or "tencent" send through the provider's SDK
    # with the credentials below (from the environment) and the template ids of EW_SMS_TEMPLATES
    # ({"eligibility": "SMS_1234", ...}). EW_SMS_ENDPOINT overrides the provider's host (a proxy, a test).
    sms_provider: Literal["sink", "alibaba", "tencent"] = "sink"
    sms_sign_name: str = "东西部劳务协作"
    sms_templates: dict[str, str] = {}
    sms_daily_cap: int = 3  # messages a day to one person, urgent ones aside
    sms_send_every_seconds: float = 5.0
    sms_max_attempts: int = 6
    sms_endpoint: str | None = None
    sms_protocol: Literal["https", "http"] = "https"
    sms_access_key_id: SecretStr | None = None  # Alibaba AccessKey ID / Tencent SecretId
    sms_access_key_secret: SecretStr | None = None  # Alibaba AccessKey secret / Tencent SecretKey
    sms_app_id: str | None = None  # Tencent SmsSdkAppId
    sms_region: str = "ap-guangzhou"  # Tencent's API region
    housekeeping_every_seconds: float = 3600
    outbox_retention_days: float = 7
    inbox_retention_days: float = 30  # longer than stream_max_age_days: a redelivery is always recognised
    idempotency_retention_days: float = 2

    @field_validator("trusted_proxies", "forwarded_allow_ips")
    @classmethod
    def _no_wildcard(cls, value: str | None) -> str | None:
        if value is not None:
            parse_trusted_proxies(value)
        return value

    @property
    def proxies(self) -> TrustedProxies:
        return parse_trusted_proxies(self.trusted_proxies)

    def database_url_for(self, service: str) -> str:
        """The service's own database: the configured URL, or a SQLite file per service under data_dir."""
        if service in self.database_urls:
            return self.database_urls[service]
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / f'{service}.db').resolve()}"
