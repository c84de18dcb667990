"""The portal with no signal: the service worker's script, its version and what it may keep.

The service worker (``templates/tickets/service-worker.js``) keeps the static files the pages
used and each page a customer has seen, one copy per address and language. What it may keep is
an allow-list given here (the landing page, the forms, status pages, the privacy notice), so the
staff console, Find my request, /metrics, /healthz, WhatsApp's webhook and every answer to a post
are never kept.

Its version is a digest of everything a kept copy depends on: the script, the static files'
hashed names, the offline page, the translations and the forms' addresses. A deploy that changes
any of them changes the script's bytes, the browser installs the new worker, and the new worker
deletes what the old one kept.
"""

import functools
import hashlib
import json

from django.conf import settings
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template.loader import get_template, render_to_string
from django.urls import reverse

from tickets.providers import enabled_providers

SCRIPT_TEMPLATE = "tickets/service-worker.js"
OFFLINE_TEMPLATE = "tickets/offline.html"
# Navigations wait this long for the network before a kept copy is shown.
NETWORK_TIMEOUT_MS = 3000
# The Background Sync tag under which a send kept on the phone is finished.
SYNC_TAG = "portal-outbox"


def _config() -> dict:
    """What the script needs to know of this portal, all but its version."""
    aliases = sorted(provider.alias for provider in enabled_providers())
    forms = "|".join(aliases) or "(?!)"
    return {
        "static": settings.STATIC_URL,
        "offline": {
            code: reverse("tickets:offline", args=[code]) for code, _ in settings.LANGUAGES
        },
        "language": settings.LANGUAGE_CODE,
        "tokens": reverse("tickets:send-tokens"),
        # Whole paths (anchored): the pages a customer may find again with no signal.
        "keep": [
            "^/$",
            f"^/(?:{forms})/$",
            "^/status/[0-9a-f-]{36}/$",
            "^" + reverse("tickets:privacy") + "$",
        ],
        # Never answered by the worker at all, not even with the offline page.
        "pass": ["^/admin/", "^/i18n/", "^/healthz", "^/metrics", "^/whatsapp/"],
        "network_timeout_ms": NETWORK_TIMEOUT_MS,
        "sync_tag": SYNC_TAG,
    }


def _digest_of(config: dict) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps(config, sort_keys=True).encode())
    for name in (SCRIPT_TEMPLATE, OFFLINE_TEMPLATE):
        digest.update(get_template(name).template.source.encode())
    # The static files under their hashed names (ManifestStaticFilesStorage); none in DEBUG.
    hashed = getattr(staticfiles_storage, "hashed_files", None) or {}
    digest.update(json.dumps(hashed, sort_keys=True).encode())
    for path in settings.LOCALE_PATHS:
        for catalogue in sorted(path.glob("*/LC_MESSAGES/django.mo")):
            digest.update(catalogue.read_bytes())
    return digest.hexdigest()[:16]


@functools.cache
def _cached_version(config_json: str) -> str:
    return _digest_of(json.loads(config_json))


@receiver(setting_changed)
def _forget_version(**kwargs) -> None:
    _cached_version.cache_clear()


def release_version() -> str:
    """This release's version of the service worker (recomputed each time in DEBUG)."""
    config = _config()
    if settings.DEBUG:
        return _digest_of(config)
    return _cached_version(json.dumps(config, sort_keys=True))


def service_worker_script() -> str:
    config = {**_config(), "version": release_version()}
    return render_to_string(SCRIPT_TEMPLATE, {"config": json.dumps(config, sort_keys=True)})
