"""WSGI entry point for gunicorn and other WSGI servers."""

import os

from django.core.management import call_command
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

application = get_wsgi_application()

# runserver and every management command run Django's system checks; a WSGI server does not.
# Run them here, so that a missing or malformed provider setting stops the web process with the
# same clear message instead of surfacing later as submissions held for configuration.
call_command("check")
