"""/metrics never on the public URL in production: the services serve it on their own metrics port
(EW_METRICS_PORT), Prometheus scrapes that container port, and no Service, Ingress or nginx location routes
to it. (The behaviour of the port itself: tests/integration/test_metrics_port.py.)"""

from __future__ import annotations

import re

import pytest
import yaml

from tests.deploy.manifests import (
    K8S,
    NGINX_CONF,
    RENDERED,
    SERVICES,
    TARGETS,
    manifests,
    named,
    nginx_locations,
    of_kind,
    settings,
)
from tests.deploy.test_routes import ingress_route, nginx_route

METRICS_PORT = 9100


@pytest.mark.parametrize("target", TARGETS)
def test_the_services_serve_metrics_on_their_own_port(target: str) -> None:
    assert settings(target)["EW_METRICS_PORT"] == str(METRICS_PORT)
    assert settings(target)["EW_ENVIRONMENT"] in {"prod", "dev"}
    items = manifests(target)
    for service in SERVICES:
        deployment = named(items, "Deployment", service)
        template = deployment["spec"]["template"]
        (container,) = template["spec"]["containers"]
        ports = {port["name"]: port["containerPort"] for port in container["ports"]}
        assert ports == {"http": 8000, "metrics": METRICS_PORT}
        assert template["metadata"]["annotations"]["prometheus.io/port"] == str(METRICS_PORT)
        # the Service (what the ingress reaches) carries the public port only
        service_ports = named(items, "Service", service)["spec"]["ports"]
        assert [(port["name"], port["targetPort"]) for port in service_ports] == [("http", "http")]


@pytest.mark.parametrize("target", RENDERED)
def test_prometheus_scrapes_the_metrics_port(target: str) -> None:
    items = manifests(target)
    monitors = of_kind(items, "PodMonitor")
    if target != "overlays/prod":
        assert monitors == []  # only production brings the Prometheus Operator objects (k8s/monitoring)
        return
    by_name = {monitor["metadata"]["name"]: monitor for monitor in monitors}
    assert set(by_name) == {"eastwest", "eastwest-pg"}  # the services, and CloudNativePG's exporter
    for monitor in by_name.values():
        assert [endpoint["port"] for endpoint in monitor["spec"]["podMetricsEndpoints"]] == ["metrics"]
    assert by_name["eastwest-pg"]["spec"]["selector"]["matchLabels"]["cnpg.io/cluster"] == "eastwest-pg"


def test_the_pod_monitor_file_scrapes_the_metrics_port() -> None:
    monitor = yaml.safe_load((K8S / "monitoring" / "podmonitor.yaml").read_text(encoding="utf-8"))
    assert [(endpoint["port"], endpoint["path"]) for endpoint in monitor["spec"]["podMetricsEndpoints"]] == [
        ("metrics", "/metrics")
    ]


@pytest.mark.parametrize("path", ["/metrics", "/metrics/", "/v1/metrics"])
def test_no_public_route_reaches_metrics(path: str) -> None:
    assert nginx_route(path) is None
    assert ingress_route(path) is None


def test_nginx_has_no_metrics_location() -> None:
    assert not [location for _, location, _, _ in nginx_locations() if "metrics" in location]
    text = re.sub(r"#[^\n]*", "", NGINX_CONF.read_text(encoding="utf-8"))
    assert not re.search(r"location[^{]*metrics", text)
