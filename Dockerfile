# syntax=docker/dockerfile:1.7
# One image for every eastwest service and its migrations:
#   docker run IMAGE serve supply        (the default)
#   docker run IMAGE migrate supply      (one-shot, before the service starts)
#   docker run IMAGE token --role admin  (a development token; needs EW_JWT_SECRET)
# `serve <service>` runs, in one process, the service's HTTP API, its outbox relay and its event consumers: one
# container (or pod) per service and nothing else to run. Settings come from EW_* environment variables
# (libs/settings.py); docker-compose.yml and k8s/ use this image; runbook: deploy/README.md.

ARG PYTHON_IMAGE=python:3.11-slim

# --- builder: a virtualenv with the dependencies, then the project installed into it (not editable) ---------
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv
WORKDIR /src

# 1. Dependencies only, read from pyproject.toml: this layer is rebuilt only when pyproject.toml or
#    constraints.txt change, not on every code change.
COPY pyproject.toml constraints.txt ./
RUN --mount=type=cache,target=/root/.cache/pip \
    python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
 && pip install -c constraints.txt -r /tmp/requirements.txt

# 2. The code, installed as a regular package: the migrations/ folders (env.py, script.py.mako, versions/)
#    and the reference CSVs land in site-packages. A new top-level package needs a COPY line here and a
#    `!name/` line in .dockerignore. The check imports from site-packages (`-P`: not from /src) and fails
#    the build if a service's migrations did not make it into the installed package.
COPY libs ./libs
COPY services ./services
COPY eastwest ./eastwest
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install -c constraints.txt . \
 && pip check \
 && python -P -c "import importlib, pathlib, eastwest.services as s; \
[(pathlib.Path(importlib.import_module(f'services.{n}').__file__).parent / 'migrations' / f).resolve(strict=True) \
 for n in s.FACTORIES for f in ('env.py', 'script.py.mako', 'versions')]; \
import libs; assert libs.__file__.startswith('/opt/venv/'), libs.__file__" \
 && eastwest --help > /dev/null

# --- runtime: the slim base, the virtualenv (which holds the installed code) and a non-root user ------------
FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="eastwest" \
      org.opencontainers.image.description="东西部劳务协作平台: one image, one service per container"

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    EW_DATA_DIR=/app/var

RUN groupadd --system --gid 10001 eastwest \
 && useradd --system --uid 10001 --gid eastwest --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin eastwest \
 && mkdir -p /app/var \
 && chown -R eastwest:eastwest /app

COPY --from=builder /opt/venv /opt/venv

WORKDIR /app
USER 10001:10001
EXPOSE 8000

# No curl in the slim image: Python asks /healthz (liveness). A service started on another port sets
# EW_HEALTHCHECK_URL. Readiness (/readyz: database and NATS) is for the orchestrator's readiness probe.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(os.environ.get('EW_HEALTHCHECK_URL', 'http://127.0.0.1:8000/healthz'), timeout=4)"]

ENTRYPOINT ["eastwest"]
CMD ["serve", "supply"]
