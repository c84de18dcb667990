from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tickets.providers import enabled_providers
from tickets.sandbox.server import SandboxServer


class Command(BaseCommand):
    help = "Serve fake endpoints of every configured provider for local use (never in production)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8001)

    def handle(self, *, host: str, port: int, **options) -> None:
        if not settings.SANDBOX_ENABLED:
            raise CommandError("The sandbox is off (it needs DEBUG=1 and SANDBOX not set to 0).")
        endpoints = {provider.alias: provider.sandbox_class for provider in enabled_providers()}
        server = SandboxServer((host, port), endpoints=endpoints, verbose=options["verbosity"] > 1)
        mounted = ", ".join(f"{server.url}/{alias}" for alias in endpoints)
        self.stdout.write(f"Sandbox providers on {mounted}")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
