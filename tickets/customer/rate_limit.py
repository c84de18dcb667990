"""How many requests one client address may send through the forms.

Counted in the form view, so only a form actually sent counts: not a language switch, not a post
the CSRF check refused. Many customers on Malaysian and Indonesian mobile networks share one
address (carrier-grade NAT), so the limit (``FORM_RATE_LIMIT`` per
``FORM_RATE_LIMIT_WINDOW_SECONDS``) is set for a shared address, not for one person.
"""

import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from tickets.cache import CACHE_UNREACHABLE
from tickets.operations.client_address import client_ip

logger = logging.getLogger(__name__)

# Whether this process last found the cache unreachable: its outage is logged once, not per post.
_cache_down = False


def form_post_wait(request: HttpRequest, *, scope: str = "form") -> int | None:
    """None when this form post is within its client's limit; else the seconds until it may
    send again. ``scope``: which forms share the count (the request forms; "Find my request")."""
    window = settings.FORM_RATE_LIMIT_WINDOW_SECONDS
    bucket = int(time.time() // window)
    count = _posts_counted(f"{scope}-rate:{client_ip(request) or 'unknown'}:{bucket}", window)
    if count is None or count <= settings.FORM_RATE_LIMIT:
        return None
    logger.warning("form rate limit reached on %s", request.path)
    return int(window - time.time() % window) + 1


def _posts_counted(key: str, window: int) -> int | None:
    """This post's number in its window, or None when the cache cannot be reached: then posts
    go through unlimited, since a stored request matters more than the limit (/healthz says
    ``cache_down`` meanwhile)."""
    global _cache_down
    try:
        # incr() first: within a window the key is there, and one call counts the post (on Redis
        # two round trips, where add() then incr() took three). The first post of a window adds
        # it; of two adding at once, one wins and the other counts on.
        try:
            count = cache.incr(key)
        except ValueError:  # not there yet, or expired meanwhile
            count = 1 if cache.add(key, 1, timeout=window + 5) else _incr_or_one(key)
    except CACHE_UNREACHABLE:
        if not _cache_down:
            logger.error("the cache cannot be reached: form posts are not rate-limited until it is")
        _cache_down = True
        return None
    if _cache_down:
        logger.warning("the cache is back: form posts are rate-limited again")
    _cache_down = False
    return count


def _incr_or_one(key: str) -> int:
    try:
        return cache.incr(key)
    except ValueError:  # added by another post and expired in between: a new window
        return 1
