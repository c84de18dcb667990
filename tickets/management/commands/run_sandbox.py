from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tickets.sandbox.server import SandboxServer


class Command(BaseCommand):
    help = "Serve the fake OneCloud and StoreHub providers for local use (never in production)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8001)

    def handle(self, *, host: str, port: int, **options) -> None:
        if not settings.SANDBOX_ENABLED:
            raise CommandError("The sandbox is off (it needs DEBUG=1 and SANDBOX not set to 0).")
        server = SandboxServer((host, port), verbose=options["verbosity"] > 1)
        self.stdout.write(f"Sandbox providers on {server.url}/onecloud and {server.url}/storehub")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
