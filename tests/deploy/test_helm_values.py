"""k8s/nats/values*.yaml: they parse, name only keys of the official NATS chart's 1.x layout (a key the chart
does not read is silently ignored by Helm, so a typo or a 0.x-era key would leave the default in place), and
give production a three-node JetStream cluster on persistent volumes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.manifests import K8S, config_literals

VALUES = K8S / "nats" / "values.yaml"
DEV_VALUES = K8S / "nats" / "values-dev.yaml"

# Keys of the nats-io/k8s chart, 1.x layout (helm/charts/nats/values.yaml), as dotted paths. A key listed with
# `.*` takes anything below it (the chart passes it through: merge/patch objects, env maps, topology spreads).
KNOWN_KEYS = {
    "global.image.pullPolicy",
    "global.image.pullSecretNames",
    "global.image.registry",
    "global.labels",
    "nameOverride",
    "fullnameOverride",
    "namespaceOverride",
    "config.cluster.enabled",
    "config.cluster.port",
    "config.cluster.replicas",
    "config.cluster.noAdvertise",
    "config.cluster.name",
    "config.cluster.routeURLs.*",
    "config.cluster.tls.*",
    "config.cluster.merge.*",
    "config.cluster.patch",
    "config.nats.port",
    "config.nats.tls.*",
    "config.leafnodes.*",
    "config.websocket.*",
    "config.mqtt.*",
    "config.gateway.*",
    "config.monitor.enabled",
    "config.monitor.port",
    "config.monitor.tls.enabled",
    "config.profiling.enabled",
    "config.profiling.port",
    "config.resolver.*",
    "config.serverNamePrefix",
    "config.lameDuckGracePeriod",
    "config.lameDuckDuration",
    "config.jetstream.enabled",
    "config.jetstream.fileStore.enabled",
    "config.jetstream.fileStore.dir",
    "config.jetstream.fileStore.maxSize",
    "config.jetstream.fileStore.pvc.enabled",
    "config.jetstream.fileStore.pvc.size",
    "config.jetstream.fileStore.pvc.storageClassName",
    "config.jetstream.fileStore.pvc.name",
    "config.jetstream.fileStore.pvc.merge.*",
    "config.jetstream.fileStore.pvc.patch",
    "config.jetstream.memoryStore.enabled",
    "config.jetstream.memoryStore.maxSize",
    "config.jetstream.merge.*",
    "config.jetstream.patch",
    "config.merge.*",
    "config.patch",
    "container.image.repository",
    "container.image.tag",
    "container.image.pullPolicy",
    "container.image.registry",
    "container.image.digest",
    "container.ports.*",
    "container.env.*",
    "container.merge.*",
    "container.patch",
    "reloader.enabled",
    "reloader.image.*",
    "reloader.env.*",
    "reloader.natsVolumeMountPrefixes",
    "reloader.merge.*",
    "reloader.patch",
    "promExporter.enabled",
    "promExporter.image.*",
    "promExporter.port",
    "promExporter.env.*",
    "promExporter.merge.*",
    "promExporter.patch",
    "promExporter.podMonitor.enabled",
    "promExporter.podMonitor.name",
    "promExporter.podMonitor.merge.*",
    "promExporter.podMonitor.patch",
    "service.enabled",
    "service.ports.*",
    "service.name",
    "service.merge.*",
    "service.patch",
    "statefulSet.name",
    "statefulSet.merge.*",
    "statefulSet.patch",
    "podTemplate.configChecksumAnnotation",
    "podTemplate.topologySpreadConstraints.*",
    "podTemplate.merge.*",
    "podTemplate.patch",
    "headlessService.name",
    "headlessService.merge.*",
    "headlessService.patch",
    "configMap.name",
    "configMap.merge.*",
    "configMap.patch",
    "ingress.*",
    "serviceAccount.*",
    "natsBox.enabled",
    "natsBox.contexts.*",
    "natsBox.defaultContextName",
    "natsBox.container.*",
    "natsBox.podTemplate.*",
    "natsBox.deployment.*",
    "natsBox.contextsSecret.*",
    "natsBox.contentsSecret.*",
    "natsBox.serviceAccount.*",
    "podDisruptionBudget.enabled",
    "podDisruptionBudget.name",
    "podDisruptionBudget.merge.*",
    "podDisruptionBudget.patch",
    "networkPolicy.*",
    "extraResources",
}


def unknown_keys(values: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted paths of `values` that the chart's 1.x layout does not have."""
    unknown = []
    for key, value in values.items():
        path = f"{prefix}{key}"
        if path in KNOWN_KEYS:
            continue
        if any(
            path == known[:-2] or path.startswith(known[:-1]) for known in KNOWN_KEYS if known.endswith(".*")
        ):
            continue
        if isinstance(value, dict) and any(known.startswith(path + ".") for known in KNOWN_KEYS):
            unknown.extend(unknown_keys(value, path + "."))
        else:
            unknown.append(path)
    return unknown


def load(path: Path) -> dict[str, Any]:
    values: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(values, dict)
    return values


def merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Helm's merge of two values files (maps merge, anything else is replaced)."""
    result = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = value
    return result


def quantity(text: str) -> int:
    number, unit = re.fullmatch(r"(\d+)(Mi|Gi)", text).groups()  # type: ignore[union-attr]
    return int(number) * {"Mi": 1, "Gi": 1024}[unit]


@pytest.mark.parametrize("path", [VALUES, DEV_VALUES], ids=["values", "values-dev"])
def test_values_name_only_keys_of_the_chart(path: Path) -> None:
    assert unknown_keys(load(path)) == []


def test_the_key_check_rejects_the_old_layout() -> None:
    """The 0.x chart had `cluster.enabled`, `nats.jetstream.fileStorage`: a copied old snippet must fail."""
    old = {
        "cluster": {"enabled": True, "replicas": 3},
        "nats": {"jetstream": {"fileStorage": {"size": "10Gi"}}},
    }
    assert unknown_keys(old) == ["cluster", "nats"]
    assert unknown_keys({"config": {"jetstream": {"fileStore": {"pvc": {"sise": "1Gi"}}}}}) == [
        "config.jetstream.fileStore.pvc.sise"
    ]


def test_production_is_a_three_node_jetstream_cluster_on_volumes() -> None:
    values = load(VALUES)
    assert values["config"]["cluster"] == {"enabled": True, "replicas": 3}
    jetstream = values["config"]["jetstream"]
    assert jetstream["enabled"] is True
    assert jetstream["fileStore"]["enabled"] is True
    assert jetstream["fileStore"]["pvc"]["enabled"] is True
    assert jetstream["memoryStore"]["enabled"] is False
    # the store's limit leaves room on the volume (JetStream counts logical bytes)
    assert quantity(jetstream["fileStore"]["maxSize"]) < quantity(jetstream["fileStore"]["pvc"]["size"])
    assert values["podDisruptionBudget"]["enabled"] is True
    # one server per node, and spread over zones: one zone's loss leaves the stream's quorum
    spread = values["podTemplate"]["topologySpreadConstraints"]
    assert spread["kubernetes.io/hostname"]["whenUnsatisfiable"] == "DoNotSchedule"
    assert spread["topology.kubernetes.io/zone"]["maxSkew"] == 1
    # the stream gets one replica per server in production
    prod = config_literals(K8S / "overlays" / "prod" / "kustomization.yaml")
    assert int(prod["EW_STREAM_REPLICAS"]) == values["config"]["cluster"]["replicas"]


def test_dev_is_one_server() -> None:
    values = merged(load(VALUES), load(DEV_VALUES))
    assert values["config"]["cluster"]["enabled"] is False
    assert values["config"]["jetstream"]["enabled"] is True
    fs = values["config"]["jetstream"]["fileStore"]
    assert quantity(fs["maxSize"]) < quantity(fs["pvc"]["size"])
    dev = config_literals(K8S / "overlays" / "dev" / "kustomization.yaml")
    assert dev["EW_STREAM_REPLICAS"] == "1"


def test_the_services_find_the_release() -> None:
    """EW_NATS_URL names the Service `<fullname>.<namespace>`: the release's fullname and the namespace of the
    documented `helm upgrade --install` command."""
    values = load(VALUES)
    url = config_literals(K8S / "base" / "kustomization.yaml")["EW_NATS_URL"]
    host = re.fullmatch(r"nats://([^.]+)\.([^.]+)\.svc\.cluster\.local:(\d+)", url)
    assert host is not None, url
    assert host.group(1) == values["fullnameOverride"]
    assert f"--namespace {host.group(2)}" in VALUES.read_text(encoding="utf-8")
    assert host.group(3) == "4222"
