"""``{{ moment|customer_time:zone }}``: a moment as the customer reads it, in the time zone of
the provider's customers, with the zone named the way they name it ("7 December 2026, 14:05
WIB"). The time-zone database names Malaysia's zone only "+08": the names customers use are
kept here."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django import template
from django.conf import settings
from django.utils import dateformat

register = template.Library()

# The names customers use for their zones, where the time-zone database has none of its own.
ZONE_NAMES = {
    "Asia/Kuala_Lumpur": "MYT",
    "Asia/Kuching": "MYT",
    "Asia/Jakarta": "WIB",
    "Asia/Pontianak": "WIB",
    "Asia/Makassar": "WITA",
    "Asia/Jayapura": "WIT",
}


def zone_name(local: datetime, zone: str) -> str:
    """The zone of ``local`` (a time in ``zone``) as its people name it, else UTC+hh[:mm]."""
    if zone in ZONE_NAMES:
        return ZONE_NAMES[zone]
    name = local.tzname() or ""
    if name[:1] in "+-":
        offset = local.utcoffset()
        minutes = int(offset.total_seconds() // 60) if offset is not None else 0
        sign, minutes = ("+" if minutes >= 0 else "-"), abs(minutes)
        name = f"UTC{sign}{minutes // 60}" + (f":{minutes % 60:02d}" if minutes % 60 else "")
    return name


@register.filter
def customer_time(moment: datetime | None, zone: str = "", *, with_date: bool = True) -> str:
    """``moment`` in ``zone`` (the portal's ``TIME_ZONE`` if empty), in the active language."""
    if moment is None:
        return ""
    zone = zone or settings.TIME_ZONE
    local = moment.astimezone(ZoneInfo(zone))
    shown = dateformat.format(local, "j F Y, H:i" if with_date else "H:i")
    return f"{shown} {zone_name(local, zone)}"
