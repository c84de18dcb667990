"""Unusual volume and the daily budget: whether a new request to a provider is forwarded at once
or held for staff to check first (``Status.CHECKING``). Nothing is refused: a held request is
stored, its customer told that staff check it, and staff release or discard it.

New requests are counted per provider over the last hour in the shared cache, in twelve
five-minute buckets (the hour slides by five minutes); while the cache cannot be reached the
database counts them. Past the provider's threshold (``UNUSUAL_VOLUME_PER_HOUR``, else twice its
busiest hour of the last four weeks, never under ``UNUSUAL_VOLUME_FLOOR``) the form pages ask
browsers for a proof of work (``proof_of_work``), and a request sent without an accepted one (a
script, a phone without JavaScript) is held. Past ``PROVIDER_DAILY_BUDGET`` requests forwarded
today, every new one is held.

A post costs one call to the cache: a process reads the hour's closed buckets once per bucket. A
form page mostly costs none: a process reads the count for pages at most once a second, and each
post it counts tells it the count anyway, so a page may ask for the proof a second late.
"""

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.signals import setting_changed
from django.db.models import Count, Q
from django.db.models.functions import TruncHour
from django.dispatch import receiver
from django.utils import timezone

from tickets.cache import CACHE_UNREACHABLE
from tickets.customer.proof_of_work import proof_accepted
from tickets.models import HoldReason, Submission

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 3600
BUCKET_SECONDS = 300
# How far back the busiest hour is looked for, and how long a process trusts what it found.
BUSIEST_HOUR_DAYS = 28
BUSIEST_HOUR_KEPT_SECONDS = 600
# The default threshold is this many times the busiest hour: a good day is not unusual.
BUSIEST_HOUR_FACTOR = 2

# How long a process shows form pages by the hour's count it last read or made.
PAGE_COUNT_KEPT_SECONDS = 1.0

# provider -> (monotonic time it was read, its busiest hour): read once per process and while.
_busiest: dict[str, tuple[float, int]] = {}
# provider -> (monotonic time, the hour's count then): what form pages are shown by.
_page_counts: dict[str, tuple[float, int]] = {}
# provider -> (the current bucket's key, the sum of the hour's closed buckets).
_closed_buckets: dict[str, tuple[str, int]] = {}
# Whether this process last found the cache unreachable: its outage is logged once.
_cache_down = False


@receiver(setting_changed)
def _forget_counts(**kwargs) -> None:
    _busiest.clear()
    _page_counts.clear()
    _closed_buckets.clear()


def volume_is_unusual(*, provider: str) -> bool:
    """Whether the next request to ``provider`` would pass its threshold: the form pages then
    ask for a proof of work."""
    read_at, count = _page_counts.get(provider, (float("-inf"), 0))
    if time.monotonic() - read_at >= PAGE_COUNT_KEPT_SECONDS:
        count = _requests_in_the_last_hour(provider)
        _page_counts[provider] = (time.monotonic(), count)
    return _past_the_threshold(provider, count + 1)


def any_volume_is_unusual(*, providers: list[str]) -> bool:
    """Whether any of ``providers`` sees unusual volume ("Find my request" asks for a proof of
    work then, since its codes go out by e-mail and WhatsApp)."""
    return any(volume_is_unusual(provider=provider) for provider in providers)


def request_hold_reason(*, provider: str, proof: str) -> str:
    """Count a new request to ``provider`` and say why it is held for staff ("": forwarded at
    once). ``proof``: the proof of work the form carried ("" without one); spent if needed."""
    count = _request_counted(provider)
    if _past_the_daily_budget(provider):
        return HoldReason.BUDGET
    if _past_the_threshold(provider, count) and not proof_accepted(proof):
        return HoldReason.VOLUME
    return ""


def _past_the_threshold(provider: str, count: int) -> bool:
    # Under the floor nothing is unusual: the busiest hour is not looked up.
    if settings.UNUSUAL_VOLUME_PER_HOUR <= 0 and count <= settings.UNUSUAL_VOLUME_FLOOR:
        return False
    return count > volume_threshold(provider=provider)


def code_request_allowed(*, unusual: bool, proof: str) -> bool:
    """Whether "Find my request" may send a code: always, unless volume is ``unusual`` and
    ``proof`` is not an accepted proof of work (then nothing is sent; the page says why)."""
    return not unusual or proof_accepted(proof)


def volume_threshold(*, provider: str) -> int:
    """New requests an hour past which volume is unusual for ``provider``."""
    if settings.UNUSUAL_VOLUME_PER_HOUR > 0:
        return settings.UNUSUAL_VOLUME_PER_HOUR
    return max(settings.UNUSUAL_VOLUME_FLOOR, BUSIEST_HOUR_FACTOR * _busiest_hour(provider))


def _busiest_hour(provider: str) -> int:
    read_at, busiest = _busiest.get(provider, (float("-inf"), 0))
    if time.monotonic() - read_at < BUSIEST_HOUR_KEPT_SECONDS:
        return busiest
    # The last hour (the one being judged) and hours in which anything was held are left out:
    # a flood must not raise what is normal.
    now = timezone.now()
    hours = (
        Submission.objects.filter(
            provider=provider,
            created_at__gte=now - timedelta(days=BUSIEST_HOUR_DAYS),
            created_at__lt=now - timedelta(seconds=WINDOW_SECONDS),
        )
        .annotate(hour=TruncHour("created_at"))
        .values("hour")
        .annotate(requests=Count("pk"), held=Count("pk", filter=~Q(held_for="")))
        .filter(held=0)
        .order_by("-requests")
        .values_list("requests", flat=True)
    )
    busiest = hours.first() or 0
    _busiest[provider] = (time.monotonic(), busiest)
    return busiest


def _past_the_daily_budget(provider: str) -> bool:
    budget = settings.PROVIDER_DAILY_BUDGET
    if budget <= 0:
        return False
    midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    forwarded_today = Submission.objects.filter(
        provider=provider, created_at__gte=midnight, held_for=""
    ).count()
    return forwarded_today >= budget


def _bucket_keys(provider: str) -> list[str]:
    """The cache keys of the hour's buckets, the current one first."""
    now = int(time.time() // BUCKET_SECONDS)
    return [f"volume:{provider}:{bucket}" for bucket in range(now, now - 12, -1)]


def _requests_in_the_last_hour(provider: str) -> int:
    current, *closed = _bucket_keys(provider)
    try:
        count = cache.get(current, 0) + _closed_count(provider, current, closed)
    except CACHE_UNREACHABLE:
        _note_the_cache(down=True)
        return _counted_by_the_database(provider)
    _note_the_cache(down=False)
    return count


def _request_counted(provider: str) -> int:
    """Count one more request; the hour's count with it."""
    current, *closed = _bucket_keys(provider)
    try:
        try:
            count = cache.incr(current)
        except ValueError:  # the bucket's first request (or two at once: one adds, one counts)
            added = cache.add(current, 1, timeout=WINDOW_SECONDS + BUCKET_SECONDS)
            count = 1 if added else cache.get(current, 1)
        count += _closed_count(provider, current, closed)
    except CACHE_UNREACHABLE:
        _note_the_cache(down=True)
        return _counted_by_the_database(provider) + 1
    _note_the_cache(down=False)
    _page_counts[provider] = (time.monotonic(), count)
    return count


def _closed_count(provider: str, current: str, closed: list[str]) -> int:
    """The sum of the hour's closed buckets, read once per bucket: nothing is added to them."""
    read_for, count = _closed_buckets.get(provider, ("", 0))
    if read_for != current:
        count = sum(cache.get_many(closed).values())
        _closed_buckets[provider] = (current, count)
    return count


def _counted_by_the_database(provider: str) -> int:
    since = timezone.now() - timedelta(seconds=WINDOW_SECONDS)
    return Submission.objects.filter(provider=provider, created_at__gte=since).count()


def _note_the_cache(*, down: bool) -> None:
    global _cache_down
    if down and not _cache_down:
        logger.error("the cache cannot be reached: the database counts new requests meanwhile")
    elif _cache_down and not down:
        logger.warning("the cache is back: it counts new requests again")
    _cache_down = down
