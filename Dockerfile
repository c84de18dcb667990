# The portal's image: the web process by default, the worker with
#   docker run IMAGE python manage.py db_worker --no-reload --interval 0.2
# Migrations run once per release: docker run IMAGE python manage.py migrate --noinput
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
RUN useradd --create-home --uid 10001 portal

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY --chown=portal:portal . .

# Hashed, pre-compressed static files are built into the image; the settings read only what
# collectstatic needs, so no real secret or provider setting is needed at build time.
RUN DEBUG=0 SANDBOX=0 SECRET_KEY=build-only-not-used-at-run-time \
    python manage.py collectstatic --noinput \
 && mkdir -p /app/media && chown portal:portal /app/media

USER portal
EXPOSE 8000
CMD ["gunicorn", "portal.wsgi:application", "--config", "gunicorn.conf.py"]
