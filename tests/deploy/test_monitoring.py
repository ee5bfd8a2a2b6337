"""Alerts and the dashboard (k8s/monitoring) use only metrics the code exports, with their real labels, and
cover the key figures; the runbook explains every alert."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from tests.deploy.manifests import K8S, REPO

MONITORING = K8S / "monitoring"
# The bus service (being written) exports this one; everything else is read from libs/observability.py.
BUS_METRICS = {"ew_bookings_total": {"outcome"}}
# Prometheus's own series, and those of the parts the platform runs on, from their exporters: ingress-nginx's
# controller, kube-state-metrics, the NATS chart's prometheus-nats-exporter, CloudNativePG and its Barman Cloud
# plugin, the kubelet.
PROMETHEUS_SERIES = {
    "up",
    "nginx_ingress_controller_requests",
    "kube_deployment_status_replicas_available",
    "gnatsd_varz_jetstream_stats_storage",
    "gnatsd_varz_jetstream_config_max_storage",
    "cnpg_pg_stat_archiver_seconds_since_last_archival",
    "barman_cloud_cloudnative_pg_io_last_available_backup_timestamp",
    "cnpg_pg_replication_lag",
    "kubelet_volume_stats_available_bytes",
    "kubelet_volume_stats_capacity_bytes",
}
# The target labels a PodMonitor adds, and the labels of those series the alerts use.
TARGET_LABELS = {"namespace", "pod", "container", "job", "instance", "app_kubernetes_io_name", "le"}
PLATFORM_LABELS = {"ingress", "status", "deployment", "persistentvolumeclaim"}


def exported_metrics() -> dict[str, set[str]]:
    """Metric name -> label names, from the prometheus_client definitions in libs/observability.py."""
    source = (REPO / "libs" / "observability.py").read_text(encoding="utf-8")
    metrics: dict[str, set[str]] = {}
    for kind, name, labels in re.findall(
        r"(Counter|Gauge|Histogram)\(\s*\"(ew_\w+)\",\s*\"[^\"]*\",\s*\[([^\]]*)\]", source
    ):
        label_set = set(re.findall(r"\"(\w+)\"", labels))
        metrics[name] = label_set
        if kind == "Histogram":
            for suffix in ("_bucket", "_sum", "_count"):
                metrics[name + suffix] = label_set
    assert len(metrics) >= 8, "could not read the metric definitions"
    return {**metrics, **BUS_METRICS}


def alert_rules() -> list[dict[str, Any]]:
    rule = yaml.safe_load((MONITORING / "prometheusrule.yaml").read_text(encoding="utf-8"))
    return [item for group in rule["spec"]["groups"] for item in group["rules"]]


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((MONITORING / "eastwest-dashboard.json").read_text(encoding="utf-8"))
    return loaded


def dashboard_exprs() -> list[str]:
    return [target["expr"] for panel in dashboard()["panels"] for target in panel.get("targets", [])]


def check_expr(expr: str, metrics: dict[str, set[str]]) -> list[str]:
    """Problems with one PromQL expression: unknown metrics, labels the metrics it uses do not have."""
    problems = []
    without_strings = re.sub(r'"[^"]*"', '""', expr)
    used = set(re.findall(r"\b(ew_\w+)\b", without_strings))
    others = set(re.findall(r"\b([a-z_]+)\{", without_strings)) - used
    problems += [f"unknown metric {name}" for name in used - set(metrics)]
    problems += [f"unknown series {name}" for name in others - PROMETHEUS_SERIES]
    labels = set()
    for group in re.findall(r"\b(?:by|on|without)\s*\(([^)]*)\)", without_strings):
        labels |= {label.strip() for label in group.split(",") if label.strip()}
    labels |= set(re.findall(r"[{,]\s*(\w+)\s*(?:=~|!~|!=|=)", without_strings))
    available = set().union(*(metrics.get(name, set()) for name in used)) | TARGET_LABELS
    if others:
        available |= PLATFORM_LABELS
    problems += [f"label {label} not on {sorted(used)}" for label in labels - available]
    return problems


def test_alerts_use_exported_metrics_and_labels() -> None:
    metrics = exported_metrics()
    for rule in alert_rules():
        assert check_expr(rule["expr"], metrics) == [], rule["alert"]


def test_dashboard_uses_exported_metrics_and_labels() -> None:
    metrics = exported_metrics()
    for expr in dashboard_exprs():
        assert check_expr(expr, metrics) == [], expr


def test_the_checker_catches_a_wrong_name() -> None:
    metrics = exported_metrics()
    assert check_expr("sum(rate(ew_http_request_total[5m]))", metrics) == [
        "unknown metric ew_http_request_total"
    ]
    assert check_expr("max by (consumer) (ew_outbox_backlog)", metrics) == [
        "label consumer not on ['ew_outbox_backlog']"
    ]


def test_dashboard_shows_the_key_figures() -> None:
    exprs = " ".join(dashboard_exprs())
    for figure in (
        "ew_http_requests_total",  # requests, errors
        'status=~"5..',
        "ew_http_request_duration_seconds_bucket",  # latency
        "ew_outbox_backlog",
        "ew_consumer_pending",  # consumer lag
        "ew_bookings_total",
        "ew_events_dead_lettered_total",
    ):
        assert figure in exprs, figure
    assert dashboard()["uid"] == "eastwest-overview"
    ids = [panel["id"] for panel in dashboard()["panels"]]
    assert len(ids) == len(set(ids))


def test_every_exported_metric_is_watched() -> None:
    used = " ".join([*dashboard_exprs(), *(rule["expr"] for rule in alert_rules())])
    for name in exported_metrics():
        if not name.endswith(("_sum", "_count")):
            assert name in used or name + "_bucket" in used, name


def test_alerts_are_explained_in_the_runbook() -> None:
    runbook = (REPO / "deploy" / "README.md").read_text(encoding="utf-8")
    names = [rule["alert"] for rule in alert_rules()]
    assert len(names) == len(set(names))
    for rule in alert_rules():
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"]
        assert rule["alert"] in runbook, f"deploy/README.md does not explain {rule['alert']}"
