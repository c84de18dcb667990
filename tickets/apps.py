from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = _("Support requests")

    def ready(self) -> None:
        from django.conf import settings
        from django.contrib import admin

        from tickets import checks  # noqa: F401  (registers the system checks)

        # Staff read whose console this is, not "Django administration".
        if settings.OPERATOR_NAME:
            admin.site.site_header = admin.site.site_title = settings.OPERATOR_NAME

        # The modules that own periodic work register it (``scheduling.periodic``).
        from tickets.delivery import recovery  # noqa: F401
        from tickets.operations import upkeep  # noqa: F401
