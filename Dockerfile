# The portal's image. By default the whole portal on one machine: migrations, then nginx in front
# of the web and the worker (scripts/one-machine.sh), with SQLite and attachments on /data:
#   docker run -v portal-data:/data -p 8000:8000 --env-file portal.env IMAGE
# Several machines (deploy/compose.yaml) run each process as its own service instead:
#   IMAGE gunicorn portal.wsgi:application --config gunicorn.conf.py
#   IMAGE python manage.py worker --no-reload --interval 0.2
#   IMAGE python manage.py migrate --noinput     (once per release)
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# nginx is the one-machine layout's front: it buffers request bodies, so slow clients wait there
# and not in gunicorn's threads (deploy/nginx.conf).
RUN apt-get update \
 && apt-get install -y --no-install-recommends nginx \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 portal

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY --chown=portal:portal . .

# Hashed, pre-compressed static files are built into the image; the settings read only what
# collectstatic needs, so no real secret or provider setting is needed at build time.
RUN DEBUG=0 SANDBOX=0 SECRET_KEY=build-only-not-used-at-run-time \
    python manage.py collectstatic --noinput \
 && mkdir -p /app/media /data && chown portal:portal /app/media /data

# One machine: the database and the attachments on the /data volume. Compose overrides these.
ENV DATABASE_URL=sqlite:////data/portal.sqlite3 \
    MEDIA_ROOT=/data/media \
    PORT=8000
VOLUME ["/data"]
USER portal
EXPOSE 8000
CMD ["scripts/one-machine.sh"]
