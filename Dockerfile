FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md alembic.ini ./
COPY bot ./bot
COPY migrations ./migrations
COPY curricula ./curricula
RUN pip install -e . \
    && useradd --create-home bot \
    && mkdir -p /app/data && chown bot /app/data
USER bot

# `run` applies migrations before it starts polling.
CMD ["resilience-bot", "run"]
