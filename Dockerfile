# The scheduled runner (serve mode), one container per region.
#   docker build -t mystery-guest .
#   docker run -e MG_REGION=eu-west-1 -e MG_PROBE_PASSWORD=... -v $PWD/config/prod.yaml:/app/config/prod.yaml:ro \
#       -p 9150:9150 mystery-guest --config config/prod.yaml
FROM python:3.11-slim-bookworm

# Debian's chromium: Playwright drives it through executable_path (no `playwright install`).
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium fonts-liberation ca-certificates \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY probes probes
COPY scenarios scenarios
COPY config config
COPY harness harness
COPY sandbox/__init__.py sandbox/__init__.py
COPY runner.py ./
# The production image has no sandbox extra (FastAPI, uvicorn) and no sandbox secrets.
RUN pip install --no-cache-dir . && rm -rf config/sandbox-secrets

RUN useradd --create-home --uid 10001 prober && mkdir -p /app/artifacts && chown prober /app/artifacts
USER prober

ENV MG_LISTEN=0.0.0.0:9150 \
    MG_ARTIFACTS_DIR=/app/artifacts \
    PYTHONUNBUFFERED=1
EXPOSE 9150
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:9150/healthz', timeout=4).status == 200 else 1)"

ENTRYPOINT ["python", "runner.py", "serve"]
CMD ["--config", "config/sandbox.yaml"]
