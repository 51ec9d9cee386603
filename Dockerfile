# syntax=docker/dockerfile:1.7
#
# One image per Sarathi service, all from this file; the build argument SERVICE picks the
# workspace member under services/ (sim, feed, signals, execution, orders, risk):
#
#   docker build --build-arg SERVICE=orders -t sarathi/orders:latest .
#
# docker-compose.yml and deploy/k8s use the images as sarathi/<service>:<tag>. An image holds its
# member and that member's workspace dependencies only (not the `sarathi` CLI of apps/cli): the
# instrument-sync CronJob runs `python -m sarathi.execution.refdata sync` in the execution image.

ARG PYTHON_IMAGE=python:3.11-slim-trixie
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13

FROM ${UV_IMAGE} AS uv

# ---- builder: install one member and exactly its locked dependencies into /app/.venv ---------
FROM ${PYTHON_IMAGE} AS builder
COPY --from=uv /uv /uvx /bin/

ARG SERVICE
RUN test -n "${SERVICE}" \
    || { echo "build with --build-arg SERVICE=<sim|feed|signals|execution|orders|risk>" >&2; exit 1; }

# Bytecode compiled at build time (the runtime filesystem is read-only); the image's own
# Python, never a downloaded one, so the venv's interpreter link also holds in the runtime stage.
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src

# Layer 1, third-party dependencies: from the lock file and the pyprojects of every workspace
# member only (uv needs them all to read the workspace), so it is rebuilt only when they change.
COPY pyproject.toml uv.lock ./
COPY libs/common/pyproject.toml libs/common/
COPY apps/cli/pyproject.toml apps/cli/
COPY services/sim/pyproject.toml services/sim/
COPY services/feed/pyproject.toml services/feed/
COPY services/signals/pyproject.toml services/signals/
COPY services/execution/pyproject.toml services/execution/
COPY services/orders/pyproject.toml services/orders/
COPY services/risk/pyproject.toml services/risk/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --package "sarathi-${SERVICE}"

# Layer 2, our code: the member and sarathi-common installed as wheels (not editable), so the
# runtime stage needs the virtual environment alone. Importing the entry module proves the
# image can start the service (nothing connects at import).
COPY libs/ libs/
COPY apps/ apps/
COPY services/ services/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package "sarathi-${SERVICE}" \
    && /app/.venv/bin/python -c "import importlib, sys; importlib.import_module(f'sarathi.{sys.argv[1]}.__main__')" "${SERVICE}"

# ---- runtime: slim Python, the virtual environment, a non-root user -------------------------
FROM ${PYTHON_IMAGE} AS runtime
ARG SERVICE

# The root filesystem is read-only at run time: a service writes only to /tmp and to its data
# directory under /var/lib/sarathi (a volume; e.g. the feed's tick recordings).
RUN groupadd --system --gid 10001 sarathi \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin sarathi \
    && install -d -o 10001 -g 10001 -m 0750 /var/lib/sarathi

COPY --from=builder /app/.venv /app/.venv

# The container probe: GET http://127.0.0.1:<port><path> with the standard library (slim images
# have no curl); exit 0 on 200. The port is the service's SARATHI_<SERVICE>_HTTP_PORT, else its
# default (the same table as the services' settings; deploy/tests checks that they agree).
COPY --chmod=0755 <<EOF /usr/local/bin/sarathi-probe
#!/usr/local/bin/python
"""sarathi-probe [PATH]: exit 0 when the service answers 200 on PATH (default /healthz)."""
import os
import sys
import urllib.request

DEFAULT_PORTS = {"sim": 8600, "feed": 8601, "signals": 8602, "execution": 8603, "orders": 8604, "risk": 8605}

service = os.environ["SARATHI_SERVICE"]
port = os.environ.get(f"SARATHI_{service.upper()}_HTTP_PORT") or DEFAULT_PORTS[service]
path = sys.argv[1] if len(sys.argv) > 1 else "/healthz"
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=4) as response:
        sys.exit(0 if response.status == 200 else 1)
except Exception as exc:
    sys.stderr.write(f"{service} {path}: {exc}\n")
    sys.exit(1)
EOF

# Inside a container the service must listen on every interface (the default is loopback).
ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SARATHI_SERVICE=${SERVICE} \
    SARATHI_HTTP_HOST=0.0.0.0

WORKDIR /app
USER 10001:10001

# The service listens on one of these (sim 8600, feed 8601, signals 8602, execution 8603,
# orders 8604, risk 8605), or on SARATHI_<SERVICE>_HTTP_PORT.
EXPOSE 8600-8605

# Liveness only: /readyz (NATS, database) is for orchestrators that order start-up on it.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["sarathi-probe", "/healthz"]

# `python -m sarathi.<service>`; `exec` keeps Python as PID 1 so SIGTERM reaches uvicorn.
CMD ["/bin/sh", "-c", "exec python -m \"sarathi.${SARATHI_SERVICE}\""]
