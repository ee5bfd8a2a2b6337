"""The Dockerfile: multi-stage, dependencies layered before the code, no build tools and a non-root user in
the image that runs, `eastwest` as the entry point (one image, the command picks the service)."""

from __future__ import annotations

import re

from tests.deploy.manifests import REPO

DOCKERFILE = (REPO / "Dockerfile").read_text(encoding="utf-8")


def stages() -> list[list[str]]:
    """The instructions of each stage (continuation lines joined, comments dropped)."""
    text = re.sub(r"\\\n", " ", DOCKERFILE)
    result: list[list[str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            result.append([])
        if result:
            result[-1].append(line)
    return result


def test_multi_stage_with_a_slim_runtime() -> None:
    builder, runtime = stages()
    assert builder[0].endswith(" AS builder")
    assert runtime[0].endswith(" AS runtime")
    # the runtime copies the finished virtualenv, never the sources or a compiler
    copies = [line for line in runtime if line.startswith("COPY")]
    assert copies == ["COPY --from=builder /opt/venv /opt/venv"]
    assert not any(re.search(r"apt-get|apk add|gcc|build-essential|pip install", line) for line in runtime)


def test_dependencies_are_layered_before_the_code() -> None:
    builder = stages()[0]
    first_dependencies = next(i for i, line in enumerate(builder) if "pip install" in line)
    code = [i for i, line in enumerate(builder) if re.match(r"COPY (libs|services|eastwest) ", line)]
    assert builder[first_dependencies - 1].startswith("COPY pyproject.toml constraints.txt")
    assert code and min(code) > first_dependencies


def test_runs_as_a_non_root_user_with_eastwest_as_entry_point() -> None:
    runtime = stages()[1]
    (user,) = [line for line in runtime if line.startswith("USER ")]
    assert user == "USER 10001:10001"
    assert 'ENTRYPOINT ["eastwest"]' in runtime
    assert any(line.startswith("HEALTHCHECK") and "/healthz" in line for line in runtime)
