"""The cache the processes share (Redis when ``REDIS_URL`` is set): what it raises while it
cannot be reached, and whether it answers. Nothing waits on it: while it is down, form posts go
through without a rate limit and kept uploads are not counted."""

from django.core.cache import cache
from redis.exceptions import RedisError

# What the cache raises when Redis cannot be reached.
CACHE_UNREACHABLE = (RedisError, OSError)


def cache_reachable() -> bool:
    """Whether the cache (Redis, when REDIS_URL is set) answers. While it does not, the form
    posts go through without a rate limit."""
    try:
        cache.get("healthz-probe")
    except CACHE_UNREACHABLE:
        return False
    return True
