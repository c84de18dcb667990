"""Who is asking: the client's address behind the operator's proxies, for the form limit,
the staff console's lockout (django-axes) and the kept uploads."""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest | None) -> str | None:
    """The caller's address, trusting X-Forwarded-For only as far as our own proxies append, and
    each entry only when the one who reported it is in ``TRUSTED_PROXY_NETWORKS``.

    Read from the right: the peer reported the last entry, that address the one before, and so on
    for at most ``TRUSTED_PROXY_COUNT`` proxies; the walk stops at the first reporter that is not
    a trusted proxy, so a client that bypasses an outer proxy cannot choose its own address.

    ``None`` when there is no valid address (django-axes also calls this, sometimes without a
    request, and stores the answer in an IP address column).
    """
    if request is None:
        return None
    candidate = request.META.get("REMOTE_ADDR", "")
    forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [p for p in forwarded if p]
    for _ in range(settings.TRUSTED_PROXY_COUNT):
        if not forwarded or not from_a_trusted_proxy(candidate):
            break
        candidate = forwarded.pop()
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


def from_a_trusted_proxy(peer: str) -> bool:
    """Whether ``peer`` is one of the proxies ``TRUSTED_PROXY_NETWORKS`` names."""
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(address in network for network in settings.TRUSTED_PROXY_NETWORKS)
