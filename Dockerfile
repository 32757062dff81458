# Phòng họp server image. Build: docker build -t phonghop .
# Run with PostgreSQL and Redis: docker compose up (see docker-compose.yml).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md LICENSE ./
COPY server ./server
COPY media ./media
COPY client-web ./client-web
COPY agendas ./agendas
RUN pip install . && useradd --system --home /app phonghop && mkdir -p /data \
    && chown phonghop /data

USER phonghop
ENV PHONGHOP_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c \
    "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["sh", "-c", "phonghop migrate && exec phonghop serve --host 0.0.0.0 --port 8000"]
