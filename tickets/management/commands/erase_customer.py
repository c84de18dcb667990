from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tickets.operations.privacy import customer_data_erase


class Command(BaseCommand):
    help = "Delete one customer's submissions and files on their request (by e-mail or phone)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--email", default="")
        parser.add_argument("--phone", default="", help="As stored: digits with country code.")

    def handle(self, *, email: str, phone: str, **options) -> None:
        try:
            deleted = customer_data_erase(email=email, phone=phone)
        except ValidationError as exc:
            raise CommandError(exc.messages[0]) from exc
        self.stdout.write(f"Deleted {deleted} submission(s).")
