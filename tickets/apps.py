from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "Support requests"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
