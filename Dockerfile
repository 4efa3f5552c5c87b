# The chattrack app image. `docker compose up` (docker-compose.yml) runs it with MongoDB 8;
# alone it keeps its data in the embedded SQLite file under /data.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# Only what the package is built from: no virtualenv, tests or local databases in the image.
COPY pyproject.toml README.md ./
COPY tracking ./tracking
COPY webhooks ./webhooks
COPY bot ./bot
COPY reports ./reports
COPY snippet ./snippet
COPY integrations ./integrations
COPY dashboard ./dashboard
# jemalloc: under glibc's malloc the server's resident memory crept up ~1 MB a minute under a steady load
# (free memory fragmenting in the heap; bench/bench_soak.py), on jemalloc it stays flat.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libjemalloc2 \
    && rm -rf /var/lib/apt/lists/* \
    && pip install . \
    && useradd --system --create-home --home-dir /data chattrack
ENV LD_PRELOAD=libjemalloc.so.2

USER chattrack
WORKDIR /data
# The SQLite file lives here: a volume, so it outlives the container (docker run -v chattrack-data:/data).
VOLUME ["/data"]
ENV CHATTRACK_HOST=0.0.0.0 \
    CHATTRACK_PORT=8080
EXPOSE 8080

# /healthz answers 503 when the store is unreachable.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('CHATTRACK_PORT', '8080'), timeout=4)"]

CMD ["chattrack", "serve", "--host", "0.0.0.0"]
