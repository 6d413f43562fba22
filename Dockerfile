# Mystery Guest: the scheduled runner (serve mode), one container per region.
#   docker build -t mystery-guest .
#   docker run -e MG_REGION=eu-west-1 -e MG_PROBE_PASSWORD -e MG_RESET_SECRET \
#       -v $PWD/prod.yaml:/etc/mystery-guest/config.yaml:ro -p 9150:9150 mystery-guest
# No secret is ever copied in (.dockerignore drops config/sandbox-secrets): the config names
# environment variables or mounted files. No container engine runs on the build machines, so
# tests/deploy/test_image.py reproduces the default target's stages step by step instead.

# -- build: the pinned runtime dependencies and the project, installed into a venv. Only the
#    venv leaves this stage (no pip cache, no source tree, no build directory in the image).
FROM python:3.11-slim-bookworm AS build
ENV VIRTUAL_ENV=/opt/venv
RUN python -m venv $VIRTUAL_ENV
ENV PATH=$VIRTUAL_ENV/bin:$PATH
WORKDIR /src
COPY requirements/runtime.lock requirements/runtime.lock
RUN pip install -r requirements/runtime.lock
COPY pyproject.toml README.md runner.py ./
COPY probes probes
COPY scenarios scenarios
COPY config config
COPY harness harness
RUN pip install --no-deps . && pip check

# -- spa and sandbox: the built-in stand-in platform, for docker-compose.yml only
#    (`docker build --target sandbox`); the runner image below never contains it.
FROM node:20-bookworm-slim AS spa
WORKDIR /spa
COPY sandbox/spa/package.json sandbox/spa/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY sandbox/spa ./
RUN npx --no-install vite build

FROM python:3.11-slim-bookworm AS sandbox
WORKDIR /app
COPY requirements/sandbox.lock requirements/sandbox.lock
RUN pip install --no-cache-dir -r requirements/sandbox.lock
COPY runner.py ./
COPY config config
COPY harness harness
COPY probes probes
COPY scenarios scenarios
COPY sandbox sandbox
COPY --from=spa /spa/dist sandbox/spa/dist
RUN useradd --uid 10001 sandbox
USER sandbox
EXPOSE 8100-8103 8109
# The secrets are mounted at /app/config/sandbox-secrets (see docker-compose.yml).
ENTRYPOINT ["python", "runner.py", "sandbox", "--host", "0.0.0.0"]

# -- runner: the default target
FROM python:3.11-slim-bookworm AS runner
# Debian's chromium: Playwright drives it through executable_path (no `playwright install`).
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium fonts-liberation ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/venv /opt/venv
ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    MG_LISTEN=0.0.0.0:9150 \
    MG_ARTIFACTS_DIR=/app/artifacts \
    PYTHONUNBUFFERED=1
WORKDIR /app
RUN useradd --create-home --uid 10001 prober && mkdir -p /app/artifacts && chown prober /app/artifacts
USER prober
EXPOSE 9150
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:9150/healthz', timeout=4).status == 200 else 1)"
ENTRYPOINT ["mystery-guest", "serve"]
# Mount your config here (it names its secrets as environment variables). Without it the
# runner exits 2 with one line naming this path.
CMD ["--config", "/etc/mystery-guest/config.yaml"]
