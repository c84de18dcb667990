from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tickets.delivery.whatsapp.sandbox import WhatsAppSandbox
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
        endpoints["whatsapp"] = WhatsAppSandbox
        server = SandboxServer((host, port), endpoints=endpoints, verbose=options["verbosity"] > 1)
        # Statuses go back to the portal's webhook, signed with its app secret, as Meta's do.
        server.endpoints["whatsapp"].webhook_url = settings.PORTAL_URL + "/whatsapp/webhook/"
        server.endpoints["whatsapp"].app_secret = settings.WHATSAPP["APP_SECRET"]
        mounted = ", ".join(f"{server.url}/{alias}" for alias in endpoints)
        self.stdout.write(f"Sandbox providers on {mounted}")
        self.stdout.write(f"WhatsApp messages listed at {server.url}/_sandbox/whatsapp")
        mail = self._catch_mail(server, host)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
            if mail is not None:
                mail.stop()

    def _catch_mail(self, server: SandboxServer, host: str):
        """The portal's e-mails, caught by an SMTP server and listed at /_sandbox/mail."""
        try:
            from aiosmtpd.controller import Controller
        except ImportError:
            self.stdout.write("E-mails are not caught: aiosmtpd is not installed (make install).")
            return None
        controller = Controller(
            server.mail_handler(), hostname=host, port=settings.SANDBOX_SMTP_PORT
        )
        controller.start()
        self.stdout.write(
            f"E-mails caught on smtp://{host}:{settings.SANDBOX_SMTP_PORT}, "
            f"read them at {server.url}/_sandbox/mail"
        )
        return controller
