# The CRM's image: one image for the web, worker and beat services of docker-compose.yml.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# gettext compiles the translations; libmagic identifies uploaded files; curl runs the health check.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext libmagic1 curl \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .

# Build-time steps need settings but no real secret, database or Redis.
RUN DEBUG=false SECRET_KEY=build-only-not-secret python manage.py collectstatic --noinput -v 0 \
    && DEBUG=false SECRET_KEY=build-only-not-secret python manage.py compilemessages --ignore=.venv -v 0

RUN useradd --system --uid 1000 --home-dir /app crm && mkdir -p /app/var/media && chown -R crm /app/var
USER crm

EXPOSE 8000
CMD ["gunicorn", "crm.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
