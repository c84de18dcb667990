from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "Support requests"

    def ready(self) -> None:
        from tickets import checks  # noqa: F401  (registers the system checks)

        # The modules that own periodic work register it (``scheduling.periodic``).
        from tickets.delivery import recovery  # noqa: F401
        from tickets.operations import upkeep  # noqa: F401
