"""The portal's WSGI application with a timer on each step of a form post (bench/profile_submit.py).

Each step's own time (its callees' timed steps taken out) and its count, per process; GET
/_profile answers them as JSON and POST /_profile starts again. For profiling only: never served.
"""

import functools
import json
import threading
import time
from collections import defaultdict

from django.core.wsgi import get_wsgi_application

_local = threading.local()
_totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])


def _timed(name: str, function):
    @functools.wraps(function)
    def timed(*args, **kwargs):
        stack = _local.__dict__.setdefault("stack", [])
        stack.append(0.0)
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            elapsed = time.perf_counter() - started
            inner = stack.pop()
            _totals[name][0] += elapsed - inner
            _totals[name][1] += 1
            if stack:
                stack[-1] += elapsed

    return timed


def _wrap(owner, attribute: str, name: str) -> None:
    setattr(owner, attribute, _timed(name, getattr(owner, attribute)))


def _instrument() -> None:
    from django.conf import settings
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.backends.utils import CursorWrapper
    from django.utils.module_loading import import_string

    from tickets.customer import intake, views
    from tickets.delivery import scheduling
    from tickets.delivery.forward import FORWARDS
    from tickets.forms.base import SubmissionForm
    from tickets.models import Submission

    for path in settings.MIDDLEWARE:
        middleware = import_string(path)
        label = "middleware " + path.rsplit(".", 1)[1]
        _wrap(middleware, "__call__", label)
        for hook in ("process_view", "process_request", "process_response"):
            if hook in vars(middleware):
                _wrap(middleware, hook, f"{label}.{hook}")
    _wrap(CursorWrapper, "execute", "SQL (statements)")
    _wrap(BaseDatabaseWrapper, "_commit", "SQL COMMIT (to the disk)")
    _wrap(BaseDatabaseWrapper, "ensure_connection", "SQL connect")
    _wrap(views, "submission_form", "view: submission_form")
    for name in (
        "form_post_wait",
        "client_ip",
        "browser_cookie",
        "browser_key",
        "remember_browser",
        "submission_create",
        "_stored",
        "provider_or_none",
        "enabled_providers",
        "render",
    ):
        _wrap(views, name, f"view: {name}")
    for name in (
        "content_digest",
        "get_provider",
        "_refuse_a_repeat",
        "split_customer_data",
        "database_now",
        "_supported_language",
        "_store_files",
    ):
        _wrap(intake, name, f"submission_create: {name}")
    _wrap(SubmissionForm, "__init__", "form: build")
    _wrap(SubmissionForm, "full_clean", "form: validate")
    _wrap(SubmissionForm, "submission_data", "form: submission_data")
    _wrap(Submission, "full_clean", "Submission.full_clean")
    _wrap(Submission, "save", "Submission.save")
    _wrap(type(FORWARDS), "schedule", "FORWARDS.schedule")
    _wrap(scheduling, "_queue_is_in_this_database", "schedule: queue check")


_django = get_wsgi_application()
_instrument()
_django_timed = _timed("WSGI handler (URLs, signals, response; not timed below)", _django)


def application(environ, start_response):
    if environ.get("PATH_INFO") == "/_profile":
        if environ["REQUEST_METHOD"] == "POST":
            _totals.clear()
        body = json.dumps({name: total for name, total in _totals.items()}).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]
    return _django_timed(environ, start_response)
