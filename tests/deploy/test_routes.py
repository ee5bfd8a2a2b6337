"""The Compose gateway (deploy/nginx/nginx.conf, the authority on which path goes to which service) and the
Kubernetes Ingresses (k8s/base/ingress.yaml) route the same public paths to the same services."""

from __future__ import annotations

import re

import pytest
import yaml

from libs.settings import Settings
from tests.deploy.manifests import (
    K8S,
    SERVICES,
    Manifest,
    nginx_locations,
    nginx_upstream_keepalive_seconds,
    nginx_upstreams,
)

INGRESS_FILE = K8S / "base" / "ingress.yaml"


def ingress_paths() -> list[tuple[str, str, str]]:
    """(ingress name, path, service) for every path of the three Ingresses."""
    found = []
    for ingress in yaml.safe_load_all(INGRESS_FILE.read_text(encoding="utf-8")):
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                assert path["pathType"] == "ImplementationSpecific"
                found.append((ingress["metadata"]["name"], path["path"], path["backend"]["service"]["name"]))
    return found


def as_ingress_path(modifier: str, path: str) -> str:
    """An nginx location in the Ingress's regex notation (ingress-nginx writes `~* "^<path>"`)."""
    if modifier == "=":
        return re.escape(path).replace(r"\-", "-").replace(r"\/", "/") + "$"
    if modifier == "~":
        assert path.startswith("^"), path
        return path[1:]
    assert modifier == "", f"unexpected location modifier {modifier!r} for {path}"
    return path


def ingress_for(body: str) -> str:
    if "proxy_buffering off" in body:
        return "eastwest-sse"
    if re.search(r"proxy_read_timeout\s+300s", body):
        return "eastwest-imports"
    return "eastwest-api"


def test_nginx_and_the_ingress_route_the_same_paths() -> None:
    expected = {
        (ingress_for(body), as_ingress_path(modifier, path), upstream)
        for modifier, path, upstream, body in nginx_locations()
    }
    actual = ingress_paths()
    assert len(actual) == len(set(actual)), "a path appears twice in the Ingresses"
    assert set(actual) == expected, {
        "only in nginx.conf": sorted(expected - set(actual)),
        "only in the Ingress": sorted(set(actual) - expected),
    }


def test_every_service_is_routed_on_both_sides() -> None:
    assert {upstream for _, _, upstream, _ in nginx_locations()} == set(SERVICES)
    assert nginx_upstreams() == set(SERVICES)
    assert {service for _, _, service in ingress_paths()} == set(SERVICES)


# --- routing, emulated: both must send the same request path to the same service ----------------------------


def nginx_route(path: str) -> str | None:
    """nginx's location choice: an exact match; else the first regex (in file order) that matches; else the
    longest prefix."""
    locations = nginx_locations()
    for modifier, location, upstream, _ in locations:
        if modifier == "=" and path == location:
            return upstream
    for modifier, location, upstream, _ in locations:
        if modifier == "~" and re.search(location, path):
            return upstream
    prefixes = [(location, upstream) for modifier, location, upstream, _ in locations if modifier == ""]
    matching = [(location, upstream) for location, upstream in prefixes if path.startswith(location)]
    return max(matching, key=lambda item: len(item[0]))[1] if matching else None


def ingress_route(path: str) -> str | None:
    """ingress-nginx with use-regex: every path becomes `~* "^<path>"`, sorted by length (longest first, ties
    in reverse lexical order), and the first match wins."""
    paths = [(ingress_path, service) for _, ingress_path, service in ingress_paths()]
    paths.sort(key=lambda item: item[0], reverse=True)
    paths.sort(key=lambda item: len(item[0]), reverse=True)
    for ingress_path, service in paths:
        if re.match("^" + ingress_path, path, flags=re.IGNORECASE):
            return service
    return None


def sample_paths() -> list[str]:
    samples = {
        "/v1/feedback",
        "/v1/jobsearch",
        "/v1/stationsx",
        "/v1/persons/p1/recommendations/extra",
        "/v1/persons/p1/x/recommendations",
        "/v1/jobs/j1/candidates/x",
        "/v1/feed/stream/x",
        "/live/streams",
        "/docs/supplyx",
        "/openapi/supplyXjson",
        "/metrics",
        "/healthz",
        "/",
    }
    for modifier, location, _, _ in nginx_locations():
        if modifier == "=":
            samples.add(location)
        elif modifier == "~":
            samples.add(location.strip("^$").replace("[^/]+", "id-42"))
        else:
            samples.update({location, location + "id-42", location + "id-42/sub"})
    return sorted(samples)


@pytest.mark.parametrize("path", sample_paths())
def test_a_request_reaches_the_same_service_through_either_gateway(path: str) -> None:
    assert ingress_route(path) == nginx_route(path)


def test_matchings_sub_paths_win_over_the_owners_prefixes() -> None:
    """The emulation above relies on ingress-nginx trying longer paths first: keep the regex paths longer."""
    assert nginx_route("/v1/persons/p1/recommendations") == "matching"
    assert nginx_route("/v1/persons/p1/status") == "demand"
    assert nginx_route("/v1/jobs/j1/candidates") == "matching"
    assert nginx_route("/v1/matches") == "matching"
    assert nginx_route("/v1/match-weights/fits") == "matching"
    assert nginx_route("/v1/jobs/j1/close") == "supply"
    assert nginx_route("/v1/feed/stream") == "feed"
    assert nginx_route("/v1/trips/t1/bookings") == "bus"
    assert nginx_route("/v1/bookings") == "bus"
    assert nginx_route("/v1/feedback") is None


MONITORING_ROUTES = {
    "/v1/stats/employment": "monitoring",
    "/v1/stats/": "monitoring",
    "/v1/agreements": "monitoring",
    "/v1/agreements/x/progress": "monitoring",
    "/v1/reports/monthly": "monitoring",
    "/dashboard": "monitoring",
    "/dashboard/assets/app.js": "monitoring",
    "/docs/monitoring": "monitoring",
    "/openapi/monitoring.json": "monitoring",
    # demand receives the social-insurance imports: it holds the ID-number hashing key they are matched with
    "/v1/monitoring/insurance-imports": "demand",
    "/v1/monitoring/insurance-imports/i1": "demand",
    "/v1/statsx": None,
    "/v1/agreementsx": None,
    "/dashboardx": None,
    "/v1/monitoring": None,
    "/v1/monitoring/other": None,
    "/v1/monitoring/insurance-importsx": None,
}


@pytest.mark.parametrize(("path", "service"), sorted(MONITORING_ROUTES.items()))
def test_monitorings_paths_and_the_insurance_imports_through_either_gateway(
    path: str, service: str | None
) -> None:
    assert nginx_route(path) == service
    assert ingress_route(path) == service


POLICY_ROUTES = {
    "/v1/policies": "policy",
    "/v1/policies/": "policy",
    "/v1/policies/P001": "policy",
    "/v1/policies/P001/versions": "policy",
    "/v1/policy-vocabulary": "policy",
    "/v1/eligibilities": "policy",
    "/v1/eligibilities/export": "policy",
    "/v1/eligibilities/E001/actions": "policy",
    "/docs/policy": "policy",
    "/docs/policy/assets/swagger-ui.css": "policy",
    "/openapi/policy.json": "policy",
    "/v1/policiesx": None,
    "/v1/policy": None,
    "/v1/policy/": None,
    "/v1/policy-vocabularyx": None,
    "/v1/policy-vocabulary/x": None,
    "/docs/policyx": None,
    "/v1/eligibilitiesx": None,
}


@pytest.mark.parametrize(("path", "service"), sorted(POLICY_ROUTES.items()))
def test_policys_paths_through_either_gateway(path: str, service: str | None) -> None:
    assert nginx_route(path) == service
    assert ingress_route(path) == service


def test_the_insurance_imports_allow_as_long_as_the_other_imports() -> None:
    ingresses = {(path, name) for name, path, _ in ingress_paths()}
    assert ("/v1/monitoring/insurance-imports$", "eastwest-imports") in ingresses
    assert ("/v1/monitoring/insurance-imports/", "eastwest-imports") in ingresses


def test_the_reader_of_nginx_conf_sees_every_location() -> None:
    """A location the reader skipped would make the comparison above vacuous."""
    text = (K8S.parent / "deploy" / "nginx" / "nginx.conf").read_text(encoding="utf-8")
    proxied = len(re.findall(r"proxy_pass\s+http://", text))
    assert len(nginx_locations()) == proxied > 50


def test_three_ingresses_api_imports_and_sse() -> None:
    documents: list[Manifest] = list(yaml.safe_load_all(INGRESS_FILE.read_text(encoding="utf-8")))
    assert [document["metadata"]["name"] for document in documents] == [
        "eastwest-api",
        "eastwest-imports",
        "eastwest-sse",
    ]


# ingress-nginx's `upstream-keepalive-timeout` when its ConfigMap sets none
INGRESS_NGINX_UPSTREAM_KEEPALIVE_SECONDS = 60


def test_the_proxies_close_idle_upstream_connections_before_the_services_do() -> None:
    """A proxy that reuses an idle connection at the moment the service closes it answers 502: every proxy
    in front must give up its idle connections first."""
    service_side = Settings().keep_alive_seconds
    for upstream, seconds in nginx_upstream_keepalive_seconds().items():
        assert seconds < service_side, upstream
    assert service_side > INGRESS_NGINX_UPSTREAM_KEEPALIVE_SECONDS


def declared_paths() -> list[tuple[str, str]]:
    """(service, a concrete path) for every route each service declares in its OpenAPI document."""
    from eastwest.services import service_openapi

    return [
        (service, re.sub(r"\{[^}]+\}", "x1", path))
        for service, document in service_openapi().items()
        for path in document["paths"]
    ]


def test_every_declared_route_reaches_its_service() -> None:
    """A route a service declares but the gateways do not send to it is unreachable in production."""
    declared = declared_paths()
    assert len(declared) > 60
    lost = [
        (service, path, nginx_route(path), ingress_route(path))
        for service, path in declared
        if nginx_route(path) != service or ingress_route(path) != service
    ]
    assert lost == []
