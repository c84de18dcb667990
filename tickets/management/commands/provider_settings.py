"""Each provider's environment variables, as it documents them (``settings_help``), written as
an env file: the part of the configuration that comes with the providers, not the portal."""

import textwrap

from django.core.management.base import BaseCommand

from tickets.providers import enabled_providers


class Command(BaseCommand):
    help = (
        "Print every environment variable of the enabled providers, with what it is for, as "
        "lines of an env file."
    )

    def handle(self, **options) -> None:
        for provider in enabled_providers():
            self.stdout.write(
                f"# --- {provider.label} ({provider.settings_prefix}_*), "
                f"tickets/providers/{provider.alias}/ ---"
            )
            for name, text in provider.settings_documented().items():
                for line in textwrap.wrap(text, 96):
                    self.stdout.write(f"# {line}")
                self.stdout.write(f"{provider.setting_name(name)}=")
            self.stdout.write("")
