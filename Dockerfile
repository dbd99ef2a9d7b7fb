# Loa application image: one image, one command per service (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    LOA_DATA_DIR=/data

WORKDIR /app
COPY pyproject.toml README.md worker.py ./
COPY config ./config
COPY news ./news
COPY feeds ./feeds
COPY bot ./bot
COPY tasks ./tasks
COPY loa ./loa
COPY ops ./ops
RUN pip install --no-cache-dir . && useradd --create-home --uid 1000 loa && mkdir -p /data /export && chown loa /data /export

USER loa
EXPOSE 8080
CMD ["loa", "serve", "--host", "0.0.0.0"]
