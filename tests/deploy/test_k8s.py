"""The Kubernetes manifests (k8s/): valid for Kubernetes 1.32, complete for every service, hardened, and the
production overlay highly available. Built with `kubectl kustomize` where kubectl is installed."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from libs.proxies import parse_trusted_proxies
from tests.deploy.manifests import (
    CUSTOM_KINDS,
    K8S,
    RAW_BASE,
    RENDERED,
    REPO,
    SERVICES,
    TARGETS,
    Manifest,
    base_files,
    config_literals,
    kubectl,
    manifests,
    named,
    of_kind,
    pod_templates,
    rendered_text,
    settings,
    validate_kubernetes,
)

SERVER = {"app.kubernetes.io/component": "server"}

# 服务短信: demand alone sends text messages (it alone holds phones), with the provider's credentials from this
# Secret, which a cluster may not have (the sink, the default, needs none).
SMS_SECRET = "eastwest-sms"
SMS_CREDENTIALS = ("EW_SMS_ACCESS_KEY_ID", "EW_SMS_ACCESS_KEY_SECRET")

# The pods that may reach addresses outside the cluster, and on which ports: demand the SMS provider's HTTPS API
# (服务短信), feed its subscribers' webhooks, CloudNativePG's instances the Kubernetes API and the backups'
# object store. No other policy opens anything beyond the cluster's peers and DNS.
OUTSIDE_EGRESS = {"demand": (443,), "feed": (80, 443), "eastwest-pg": (443, 6443)}
# the services' internet rules reach public addresses only
PUBLIC_ONLY = {"demand", "feed"}
PRIVATE_RANGES = {
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "169.254.0.0/16",
    "100.64.0.0/10",
    "127.0.0.0/8",
}
NODELOCAL_DNS = "169.254.20.10/32"


@pytest.mark.parametrize("target", TARGETS)
def test_manifests_validate_against_kubernetes_1_32(target: str, tmp_path: Path) -> None:
    if target == RAW_BASE:
        files = base_files()
    else:
        files = [tmp_path / "rendered.yaml"]
        files[0].write_text(rendered_text(target), encoding="utf-8")
    code, output = validate_kubernetes(files)
    assert code == 0, output
    assert "ERROR" not in output, output
    # only the custom resources lack a schema; anything else unknown would be a typo in apiVersion or kind
    unknown = set(re.findall(r"Couldn't find schema for kind (\w+)", output))
    assert unknown <= CUSTOM_KINDS, output


@pytest.mark.parametrize("target", TARGETS)
def test_every_service_has_its_objects(target: str) -> None:
    items = manifests(target)
    for service in SERVICES:
        deployment = named(items, "Deployment", service)
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selector.items() <= pod_labels.items()
        assert selector == {"app.kubernetes.io/name": service, **SERVER}

        assert named(items, "Service", service)["spec"]["selector"] == selector
        assert named(items, "ServiceAccount", service)["automountServiceAccountToken"] is False
        assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == service

        hpa = named(items, "HorizontalPodAutoscaler", service)
        assert hpa["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": service,
        }
        assert hpa["spec"]["minReplicas"] >= 1
        assert hpa["spec"]["maxReplicas"] >= hpa["spec"]["minReplicas"]
        assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"  # feed adds its open streams
        # the autoscaler owns the replica count: a `replicas:` in the Deployment would be reset on every apply
        assert "replicas" not in deployment["spec"]

        pdb = named(items, "PodDisruptionBudget", service)
        assert pdb["spec"]["selector"]["matchLabels"] == selector
        assert pdb["spec"].get("maxUnavailable") == 1

        job = named(items, "Job", f"{service}-migrate")
        assert job["metadata"]["labels"]["app.kubernetes.io/component"] == "migration"
        (container,) = job["spec"]["template"]["spec"]["containers"]
        assert container["args"] == ["migrate", service]
        assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
        # gone some minutes after it finished: the next release (or a rollback) applies a Job of its own
        # instead of meeting an immutable finished one
        assert 0 < job["spec"]["ttlSecondsAfterFinished"] <= 3600

        database = named(items, "Database", f"eastwest-pg-{service}")
        assert database["spec"] == {
            "cluster": {"name": "eastwest-pg"},
            "name": service,
            "owner": service,
            "ensure": "present",
            "databaseReclaimPolicy": "retain",
        }

        policy = named(items, "NetworkPolicy", service)
        assert policy["spec"]["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": service}
        assert sorted(policy["spec"]["policyTypes"]) == ["Egress", "Ingress"]

    roles = named(items, "Cluster", "eastwest-pg")["spec"]["managed"]["roles"]
    assert {role["name"]: role["passwordSecret"]["name"] for role in roles} == {
        service: f"eastwest-db-{service}" for service in SERVICES
    }
    assert all(role["login"] is True and role["ensure"] == "present" for role in roles)


@pytest.mark.parametrize("target", TARGETS)
def test_deployments_serve_with_probes_and_a_graceful_stop(target: str) -> None:
    for service in SERVICES:
        spec = named(manifests(target), "Deployment", service)["spec"]["template"]["spec"]
        (container,) = spec["containers"]
        assert container["args"] == ["serve", service, "--host", "0.0.0.0", "--port", "8000"]
        assert container["ports"] == [
            {"name": "http", "containerPort": 8000, "protocol": "TCP"},
            {"name": "metrics", "containerPort": 9100, "protocol": "TCP"},
        ]
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
        assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        sleep = container["lifecycle"]["preStop"]["exec"]["command"]
        assert sleep[0] == "sleep" and int(sleep[1]) >= 5
        # SIGTERM after the sleep; then `eastwest serve` finishes requests (20 s), event handlers (10 s) and
        # flushes the outbox (5 s) before it exits: all of it inside the grace period, with room to spare
        assert spec["terminationGracePeriodSeconds"] >= int(sleep[1]) + 20 + 10 + 5 + 5


@pytest.mark.parametrize("target", TARGETS)
def test_pods_run_hardened_with_resource_limits(target: str) -> None:
    templates = list(pod_templates(manifests(target)))
    assert len(templates) == 2 * len(SERVICES)
    for workload, spec in templates:
        name = workload["metadata"]["name"]
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] == 10001, name  # the image's user (Dockerfile)
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert spec["automountServiceAccountToken"] is False, name
        assert spec.get("initContainers", []) == [], name
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["capabilities"] == {"drop": ["ALL"]}, name
            resources = container["resources"]
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources[kind]), (name, kind)
            # writable only where `eastwest` writes: /tmp and EW_DATA_DIR
            assert {mount["mountPath"] for mount in container["volumeMounts"]} == {"/tmp", "/app/var"}
    namespaces = of_kind(manifests(target), "Namespace")
    assert [item["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] for item in namespaces] == [
        "restricted"
    ]


@pytest.mark.parametrize("target", TARGETS)
def test_each_service_reaches_only_its_own_database(target: str) -> None:
    for workload, spec in pod_templates(manifests(target)):
        service = workload["metadata"]["labels"]["app.kubernetes.io/name"]
        (container,) = spec["containers"]
        env = container["env"]
        names = [entry["name"] for entry in env]
        password = env[names.index("DB_PASSWORD")]
        url = env[names.index("EW_DATABASE_URL")]
        # $(DB_PASSWORD) is expanded only from variables defined before it
        assert names.index("DB_PASSWORD") < names.index("EW_DATABASE_URL")
        assert password["valueFrom"]["secretKeyRef"] == {"name": f"eastwest-db-{service}", "key": "password"}
        # servers through the Pooler, migration Jobs straight to the primary
        host = "eastwest-pg-rw" if workload["kind"] == "Job" else "eastwest-pg-pooler-rw"
        assert url["value"] == f"postgresql+asyncpg://{service}:$(DB_PASSWORD)@{host}:5432/{service}"


@pytest.mark.parametrize("target", TARGETS)
def test_only_demand_gets_the_personal_data_keys(target: str) -> None:
    """The personal-data keys go to demand alone; the internal secret (bus and policy read names, masked ID
    numbers and, for bus, phones from demand's /internal/v1/person-contacts) to demand, bus and policy alone;
    migrations get neither."""
    expected = {
        "demand": {"eastwest-jwt", "eastwest-pii", "eastwest-internal"},
        "bus": {"eastwest-jwt", "eastwest-internal"},
        "policy": {"eastwest-jwt", "eastwest-internal"},
    }
    for workload, spec in pod_templates(manifests(target)):
        (container,) = spec["containers"]
        secrets = {source["secretRef"]["name"] for source in container["envFrom"] if "secretRef" in source}
        name = workload["metadata"]["name"]
        wanted = (
            expected.get(name, {"eastwest-jwt"}) if workload["kind"] == "Deployment" else {"eastwest-jwt"}
        )
        assert secrets == wanted, name
        urls = [entry["value"] for entry in container["env"] if entry["name"] == "EW_SERVICE_URLS"]
        callers = {"bus", "policy"}
        assert urls == (['{"demand": "http://demand:8000"}'] if name in callers else []), name


@pytest.mark.parametrize("target", TARGETS)
def test_only_demand_gets_the_sms_credentials_from_an_optional_secret(target: str) -> None:
    """服务短信: demand's server alone gets the provider's credentials, each key of the Secret eastwest-sms by
    secretKeyRef with `optional: true` (a cluster without the Secret runs demand with the sink); never the
    whole Secret through envFrom, and no other pod reads it."""
    for workload, spec in pod_templates(manifests(target)):
        (container,) = spec["containers"]
        name = workload["metadata"]["name"]
        references = {
            entry["name"]: entry["valueFrom"]["secretKeyRef"]
            for entry in container["env"]
            if "secretKeyRef" in entry.get("valueFrom", {})
        }
        sms = {key: ref for key, ref in references.items() if ref["name"] == SMS_SECRET}
        if workload["kind"] == "Deployment" and name == "demand":
            assert sms == {key: {"name": SMS_SECRET, "key": key, "optional": True} for key in SMS_CREDENTIALS}
        else:
            assert sms == {}, name
        # besides them, a pod's only secretKeyRef is its database password
        assert set(references) - set(sms) == {"DB_PASSWORD"}, name
        assert [entry["name"] for entry in container["env"] if entry["name"].startswith("EW_SMS_")] == [*sms]
        wholesale = [source["secretRef"]["name"] for source in container["envFrom"] if "secretRef" in source]
        assert SMS_SECRET not in wholesale, name


@pytest.mark.parametrize("target", TARGETS)
def test_text_messages_default_to_the_sink_in_the_shared_config(target: str) -> None:
    """No overlay selects a provider whose credentials the cluster may not have (overlays/prod shows how, in
    comments); the credentials never go into eastwest-config."""
    values = settings(target)
    assert values["EW_SMS_PROVIDER"] == "sink"
    assert [key for key in values if key.startswith("EW_SMS_ACCESS_")] == []


def _mebibytes(quantity: str) -> float:
    match = re.fullmatch(r"(\d+)(Ki|Mi|Gi)", quantity)
    assert match is not None, quantity
    return int(match.group(1)) * {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024}[match.group(2)]


@pytest.mark.parametrize("target", TARGETS)
def test_the_sms_sink_has_a_writable_data_dir_in_demand(target: str) -> None:
    """The sink appends what it would send to EW_DATA_DIR/sms-sink.jsonl: the image's EW_DATA_DIR is an emptyDir
    in demand's read-only container, big enough for months of messages (a pod past its sizeLimit is evicted)."""
    match = re.search(r"EW_DATA_DIR=(\S+)", (REPO / "Dockerfile").read_text(encoding="utf-8"))
    assert match is not None
    data_dir = match.group(1)
    spec = named(manifests(target), "Deployment", "demand")["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    assert "EW_DATA_DIR" not in settings(target)
    assert "EW_DATA_DIR" not in [entry["name"] for entry in container["env"]]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    (mount,) = [mount for mount in container["volumeMounts"] if mount["mountPath"] == data_dir]
    assert not mount.get("readOnly", False)
    (volume,) = [volume for volume in spec["volumes"] if volume["name"] == mount["name"]]
    assert _mebibytes(volume["emptyDir"]["sizeLimit"]) >= 256


def test_the_runbook_creates_the_sms_secret_with_the_keys_demand_reads() -> None:
    """Every `kubectl create secret generic eastwest-sms` in deploy/README.md (commented or not, continued lines
    joined) gives exactly the keys the Deployment reads: a misspelt key would leave demand without credentials,
    silently, since the references are optional."""
    text = (REPO / "deploy" / "README.md").read_text(encoding="utf-8")
    lines = "\n".join(re.sub(r"^\s*#\s?", "", line) for line in text.splitlines()).replace("\\\n", " ")
    commands = [line for line in lines.splitlines() if f"create secret generic {SMS_SECRET}" in line]
    assert commands
    for command in commands:
        assert sorted(re.findall(r"--from-literal=(\w+)=", command)) == sorted(SMS_CREDENTIALS), command


def _all_k8s_documents() -> list[tuple[Path, Manifest]]:
    documents = []
    for path in sorted(K8S.rglob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(document, dict):
                documents.append((path, document))
    return documents


def test_no_secret_values_in_the_repository() -> None:
    for path, document in _all_k8s_documents():
        where = path.relative_to(REPO)
        assert document.get("kind") != "Secret", f"{where}: Secrets are created by hand (deploy/README.md)"
        if document.get("kind") == "Kustomization":
            assert "secretGenerator" not in document, where
    for target in TARGETS:
        if target != RAW_BASE and kubectl() is None:
            continue
        items = manifests(target)
        assert of_kind(items, "Secret") == []
        for _, spec in pod_templates(items):
            for container in spec["containers"]:
                for entry in container.get("env", []):
                    if re.search(r"SECRET|PASSWORD|KEY", entry["name"]):
                        assert "value" not in entry, entry
        for key in settings(target):
            assert not re.search(r"SECRET|PASSWORD|PII|PUBLIC_KEY", key), key


@pytest.mark.parametrize("target", TARGETS)
def test_network_policies_allow_nats_the_database_and_dns_only(target: str) -> None:
    items = manifests(target)
    for service in SERVICES:
        spec = named(items, "NetworkPolicy", service)["spec"]
        ingress, scrape, *internal = spec["ingress"]
        assert ingress["ports"] == [{"port": 8000, "protocol": "TCP"}]
        # demand alone is called by other services: bus (passenger contacts) and policy (an export's names and
        # masked ID numbers), on /internal/v1/person-contacts
        bus_pods = {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "bus", **SERVER}}}
        policy_pods = {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "policy", **SERVER}}}
        callers = [
            {"from": [bus_pods], "ports": ingress["ports"]},
            {"from": [policy_pods], "ports": ingress["ports"]},
        ]
        assert internal == (callers if service == "demand" else [])
        sources = [
            peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
            for peer in ingress["from"]
        ]
        assert sources == ["ingress-nginx"]
        # Prometheus reaches the metrics port, and only that one
        assert scrape == {
            "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}],
            "ports": [{"port": 9100, "protocol": "TCP"}],
        }

        egress = spec["egress"]
        by_port = {tuple(sorted(port["port"] for port in rule["ports"])): rule["to"] for rule in egress}
        nats = by_port.pop((4222,))
        assert nats == [
            {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "nats"}},
                "podSelector": {
                    "matchLabels": {"app.kubernetes.io/name": "nats", "app.kubernetes.io/component": "nats"}
                },
            }
        ]
        assert by_port.pop((5432,)) == [
            {"podSelector": {"matchLabels": {"cnpg.io/cluster": "eastwest-pg"}}},
            {"podSelector": {"matchLabels": {"cnpg.io/poolerName": "eastwest-pg-pooler-rw"}}},
        ]
        dns = by_port.pop((53, 53))
        assert dns[0]["podSelector"]["matchLabels"] == {"k8s-app": "kube-dns"}
        assert dns[1] == {"ipBlock": {"cidr": NODELOCAL_DNS}}  # NodeLocal DNSCache
        if service in PUBLIC_ONLY:
            # feed: webhooks; demand: the SMS provider (服务短信). Public addresses only
            (public,) = by_port.pop(OUTSIDE_EGRESS[service])
            assert public["ipBlock"]["cidr"] == "0.0.0.0/0"
            assert set(public["ipBlock"]["except"]) >= PRIVATE_RANGES
        if service in {"bus", "policy"}:
            demand_pods = [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "demand", **SERVER}}}]
            assert by_port.pop((8000,)) == demand_pods
        assert by_port == {}, f"{service}: unexpected egress {by_port}"
        # the CloudNativePG cluster the policy names is the one the services connect to
        assert named(items, "Cluster", "eastwest-pg")


@pytest.mark.parametrize("target", TARGETS)
def test_only_demand_and_feed_reach_the_internet(target: str) -> None:
    """Every egress rule of every NetworkPolicy that reaches beyond the cluster's pods and DNS (an ipBlock, or
    no `to` at all, which is any address): demand's to the SMS provider on 443, feed's webhooks on 80/443, both
    public addresses only and TCP, and CloudNativePG's (OUTSIDE_EGRESS). No other service, and no other rule."""
    found: dict[str, tuple[int, ...]] = {}
    for policy in of_kind(manifests(target), "NetworkPolicy"):
        name = policy["metadata"]["name"]
        for rule in policy["spec"].get("egress", []):
            peers = rule.get("to", [])
            blocks = [peer["ipBlock"] for peer in peers if "ipBlock" in peer]
            if peers and all(block["cidr"] == NODELOCAL_DNS for block in blocks):
                continue
            assert name not in found, f"{name}: a second egress rule beyond the cluster"
            found[name] = tuple(sorted(port["port"] for port in rule["ports"]))
            assert {port["protocol"] for port in rule["ports"]} == {"TCP"}, name
            if name in PUBLIC_ONLY:
                (block,) = blocks
                assert peers == [{"ipBlock": block}], name
                assert block["cidr"] == "0.0.0.0/0", name
                assert set(block["except"]) >= PRIVATE_RANGES, name
    assert found == OUTSIDE_EGRESS


# monitoring's and policy's servers: the memory of the others, a smaller CPU request
# (base/monitoring/deployment.yaml, base/policy/deployment.yaml)
LIGHT_RESOURCES = {
    "requests": {"cpu": "100m", "memory": "256Mi"},
    "limits": {"cpu": "1", "memory": "512Mi"},
}


def _normalised(item: Manifest, service: str) -> Any:
    """The object with the service's name replaced, for comparing the service folders. The apiVersion stays:
    a PodDisruptionBudget's is policy/v1, which is not the service named policy."""
    text = json.dumps({key: value for key, value in item.items() if key != "apiVersion"})
    return {"apiVersion": item["apiVersion"], **json.loads(re.sub(rf"\b{service}\b", "SERVICE", text))}


# Services whose data volume is larger than the others' 16Mi, and what it holds.
DATA_VOLUMES = {"demand": "256Mi", "matching": "2Gi"}  # the SMS sink's file; the kept ranking index


@pytest.mark.parametrize(
    "kind", ["Deployment", "Job", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"]
)
def test_the_service_folders_do_not_drift_apart(kind: str) -> None:
    """The service folders are copies: they differ only by name and by the documented exceptions (demand's
    personal-data keys, the internal secret and URL of demand, bus and policy, demand's SMS credentials, the
    larger data volumes of demand (its SMS sink) and matching (its kept index), the resources of matching,
    monitoring and policy, feed's autoscaling on open streams). A change made in one folder and not the others fails here."""
    items = manifests(RAW_BASE)
    reference = _normalised(named_kind(items, kind, "supply"), "supply")
    for service in SERVICES:
        item = _normalised(named_kind(items, kind, service), service)
        if kind == "Deployment":
            container = item["spec"]["template"]["spec"]["containers"][0]
            extras = {"eastwest-pii", "eastwest-internal"}
            container["envFrom"] = [
                s for s in container["envFrom"] if s.get("secretRef", {}).get("name") not in extras
            ]
            container["env"] = [
                entry
                for entry in container["env"]
                if entry["name"] != "EW_SERVICE_URLS" and entry["name"] not in SMS_CREDENTIALS
            ]
            if service in DATA_VOLUMES:
                volumes = item["spec"]["template"]["spec"]["volumes"]
                usual = reference["spec"]["template"]["spec"]["volumes"]
                (data,) = [volume for volume in volumes if volume["name"] == "data"]
                assert data["emptyDir"] == {"sizeLimit": DATA_VOLUMES[service]}
                data["emptyDir"] = copy.deepcopy(next(v["emptyDir"] for v in usual if v["name"] == "data"))
            if service in {"monitoring", "policy"}:
                assert container["resources"] == LIGHT_RESOURCES
            if service in {"matching", "monitoring", "policy"}:
                container["resources"] = copy.deepcopy(
                    reference["spec"]["template"]["spec"]["containers"][0]["resources"]
                )
        if kind == "HorizontalPodAutoscaler" and service == "feed":
            metrics = item["spec"]["metrics"]
            assert metrics[1]["pods"]["metric"]["name"] == "ew_sse_streams_open"
            assert item["spec"]["behavior"]["scaleDown"]["policies"] == [
                {"type": "Pods", "value": 1, "periodSeconds": 300}
            ]
            item["spec"]["metrics"] = metrics[:1]
            item["spec"]["behavior"] = copy.deepcopy(reference["spec"]["behavior"])
        assert item == reference, f"{kind} {service} differs from supply's"


def named_kind(items: list[Manifest], kind: str, service: str) -> Manifest:
    return named(items, kind, f"{service}-migrate" if kind == "Job" else service)


@pytest.mark.parametrize("target", TARGETS)
def test_sse_ingress_is_unbuffered_with_a_long_read_timeout(target: str) -> None:
    items = manifests(target)
    sse = named(items, "Ingress", "eastwest-sse")
    annotations = sse["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-send-timeout"]) >= 3600
    paths = {path["path"] for rule in sse["spec"]["rules"] for path in rule["http"]["paths"]}
    assert paths == {"/v1/feed/stream$", "/live/stream$"}
    # every Ingress points at Services that exist, on their http port
    services = {item["metadata"]["name"]: item for item in of_kind(items, "Service")}
    for ingress in of_kind(items, "Ingress"):
        assert ingress["spec"]["ingressClassName"] == "nginx"
        assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/use-regex"] == "true"
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                assert backend["port"] == {"name": "http"}
                assert [port["name"] for port in services[backend["name"]]["spec"]["ports"]] == ["http"]


@pytest.mark.parametrize("target", TARGETS)
def test_services_share_one_configuration(target: str) -> None:
    values = settings(target)
    assert values["EW_NATS_URL"] == "nats://nats.nats.svc.cluster.local:4222"
    assert values["EW_STREAM_NAME"] == "EW"
    assert values["EW_ENVIRONMENT"] == ("dev" if target == "overlays/dev" else "prod")
    expected_replicas = {"overlays/prod": "3"}.get(target, "1")
    assert values["EW_STREAM_REPLICAS"] == expected_replicas
    for _, spec in pod_templates(manifests(target)):
        sources = spec["containers"][0]["envFrom"]
        assert sources[0]["configMapRef"]["name"].startswith("eastwest-config")


def test_prod_overlay_is_highly_available() -> None:
    """Read from the overlay's own files, so that it holds without kubectl too."""
    prod = K8S / "overlays" / "prod"
    assert config_literals(prod / "kustomization.yaml")["EW_STREAM_REPLICAS"] == "3"
    cluster = yaml.safe_load((prod / "postgres.yaml").read_text(encoding="utf-8"))
    assert cluster["kind"] == "Cluster" and cluster["spec"]["instances"] == 3
    assert cluster["spec"]["postgresql"]["synchronous"]["number"] >= 1
    assert cluster["spec"]["plugins"][0]["isWALArchiver"] is True
    kustomization = yaml.safe_load((prod / "kustomization.yaml").read_text(encoding="utf-8"))
    assert "../../monitoring" in kustomization["resources"]
    hpa_patch = next(
        p for p in kustomization["patches"] if p.get("target", {}).get("kind") == "HorizontalPodAutoscaler"
    )
    assert {"op": "replace", "path": "/spec/minReplicas", "value": 3} in yaml.safe_load(hpa_patch["patch"])


def test_prod_overlay_renders_highly_available() -> None:
    items = manifests("overlays/prod")
    assert named(items, "Cluster", "eastwest-pg")["spec"]["instances"] == 3
    assert settings("overlays/prod")["EW_STREAM_REPLICAS"] == "3"
    assert all(hpa["spec"]["minReplicas"] >= 3 for hpa in of_kind(items, "HorizontalPodAutoscaler"))
    assert named(items, "ScheduledBackup", "eastwest-pg-nightly")["spec"]["cluster"] == {
        "name": "eastwest-pg"
    }
    for ingress in of_kind(items, "Ingress"):
        assert ingress["spec"]["tls"][0]["secretName"] == "eastwest-tls"
        assert ingress["spec"]["rules"][0]["host"] == ingress["spec"]["tls"][0]["hosts"][0]
    images = {c["image"] for _, spec in pod_templates(items) for c in spec["containers"]}
    assert len(images) == 1 and not images.pop().endswith(":latest")


def test_dev_overlay_is_small() -> None:
    items = manifests("overlays/dev")
    assert named(items, "Cluster", "eastwest-pg")["spec"]["instances"] == 1
    assert all(hpa["spec"]["minReplicas"] == 1 for hpa in of_kind(items, "HorizontalPodAutoscaler"))
    assert of_kind(items, "PrometheusRule") == []


def test_runbook_applies_migrations_before_the_servers() -> None:
    """deploy/README.md selects the migration Jobs and the servers by these labels: keep them in step."""
    runbook = (REPO / "deploy" / "README.md").read_text(encoding="utf-8")
    assert "app.kubernetes.io/component=migration" in runbook
    assert "app.kubernetes.io/component!=server" in runbook
    for item in manifests(RAW_BASE):
        component = item["metadata"].get("labels", {}).get("app.kubernetes.io/component")
        if item["kind"] in {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"}:
            assert component == "server", item["metadata"]["name"]
        else:
            assert component != "server", item["metadata"]["name"]


@pytest.mark.parametrize("target", TARGETS)
def test_x_forwarded_for_is_believed_from_the_ingress_pods_only(target: str) -> None:
    """Never "*" (uvicorn then takes the left-most entry from anyone); the base trusts loopback only, each
    overlay its pod network; uvicorn's FORWARDED_ALLOW_IPS is the same list as EW_TRUSTED_PROXIES."""
    values = settings(target)
    assert values["EW_TRUSTED_PROXIES"] == values["FORWARDED_ALLOW_IPS"]
    trusted = parse_trusted_proxies(values["EW_TRUSTED_PROXIES"])  # refuses "*"
    expected = "127.0.0.1" if target in (RAW_BASE, "base") else "10.244.0.0/16"
    assert values["EW_TRUSTED_PROXIES"] == expected
    assert "203.0.113.7" not in trusted


# PostgreSQL's own reserve (superuser_reserved_connections) and CloudNativePG's: its instance manager, the
# Pooler's authentication queries, replication checks and the monitoring queries.
RESERVED_CONNECTIONS = 3 + 10


@pytest.mark.parametrize("target", RENDERED)
def test_the_connection_budget_fits_at_maximum_scale(target: str) -> None:
    """Every HPA at maxReplicas, every pod's pool full: the pods' connections fit into what the PgBouncers
    take, and what the PgBouncers and the migration Jobs open fits into PostgreSQL's max_connections."""
    items = manifests(target)
    values = settings(target)
    assert values["EW_DATABASE_PGBOUNCER"] == "true"
    per_pod = int(values["EW_DATABASE_POOL_SIZE"]) + int(values["EW_DATABASE_MAX_OVERFLOW"])
    pods = sum(
        named(items, "HorizontalPodAutoscaler", service)["spec"]["maxReplicas"] for service in SERVICES
    )

    pooler = named(items, "Pooler", "eastwest-pg-pooler-rw")["spec"]
    assert pooler["cluster"]["name"] == "eastwest-pg" and pooler["pgbouncer"]["poolMode"] == "transaction"
    bouncers = pooler["instances"]
    parameters = pooler["pgbouncer"]["parameters"]
    assert pods * per_pod <= bouncers * int(parameters["max_client_conn"])

    per_database = int(parameters["default_pool_size"]) + int(parameters.get("reserve_pool_size", "0"))
    migrations = len(SERVICES)  # one connection each, straight to the primary
    worst = bouncers * per_database * len(SERVICES) + migrations + RESERVED_CONNECTIONS
    cluster = named(items, "Cluster", "eastwest-pg")["spec"]
    assert worst <= int(cluster["postgresql"]["parameters"]["max_connections"]), worst

    for service in SERVICES:  # the servers go through the Pooler, the migrations straight to the primary
        (server,) = named(items, "Deployment", service)["spec"]["template"]["spec"]["containers"]
        (migration,) = named(items, "Job", f"{service}-migrate")["spec"]["template"]["spec"]["containers"]
        url = {env["name"]: env.get("value") for env in server["env"]}["EW_DATABASE_URL"]
        assert "@eastwest-pg-pooler-rw:5432/" in url, url
        url = {env["name"]: env.get("value") for env in migration["env"]}["EW_DATABASE_URL"]
        assert "@eastwest-pg-rw:5432/" in url, url


def test_prod_postgres_has_guaranteed_resources() -> None:
    """Requests equal to limits: the database is the last pod a node under memory pressure evicts."""
    resources = named(manifests("overlays/prod"), "Cluster", "eastwest-pg")["spec"]["resources"]
    assert resources["requests"] == resources["limits"]


def _selects(policy: Manifest, labels: dict[str, str]) -> bool:
    wanted = policy["spec"]["podSelector"].get("matchLabels", {})
    return all(labels.get(key) == value for key, value in wanted.items())


@pytest.mark.parametrize("target", TARGETS)
def test_the_namespace_denies_by_default_and_every_pod_has_its_policy(target: str) -> None:
    items = manifests(target)
    policies = of_kind(items, "NetworkPolicy")
    deny = named(items, "NetworkPolicy", "default-deny")["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    allowing = [policy for policy in policies if policy["metadata"]["name"] != "default-deny"]
    for workload, _ in pod_templates(items):
        labels = workload["spec"]["template"]["metadata"]["labels"]
        assert any(_selects(policy, labels) for policy in allowing), workload["metadata"]["name"]
    # CloudNativePG's pods (instances and PgBouncers): the services reach them on 5432
    postgres = named(items, "NetworkPolicy", "eastwest-pg")["spec"]
    assert postgres["podSelector"]["matchLabels"] == {"cnpg.io/cluster": "eastwest-pg"}
    services = postgres["ingress"][0]
    assert services["from"] == [{"podSelector": {"matchLabels": {"app.kubernetes.io/part-of": "eastwest"}}}]
    assert services["ports"] == [{"port": 5432, "protocol": "TCP"}]
