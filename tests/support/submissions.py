"""What several service test modules share: a request entered as a customer's would be, a fresh
look at it in the database, and the e-mail tasks waiting in the queue."""

from django_tasks_db.models import DBTaskResult

from tests.support.factories import CUSTOMER_DATA
from tickets.customer.intake import submission_create
from tickets.models import Submission


def create(provider: str, **overrides) -> Submission:
    """The provider's valid request (``CUSTOMER_DATA``), entered through ``submission_create``."""
    return submission_create(provider=provider, data=CUSTOMER_DATA[provider](**overrides))


def refreshed(submission: Submission) -> Submission:
    """The submission as the database holds it now, as a new object that later refreshes leave
    alone; ``submission`` itself is brought up to date too."""
    submission.refresh_from_db()
    return Submission.objects.get(pk=submission.pk)


def send_tasks():
    """The e-mail tasks waiting in the queue."""
    return DBTaskResult.objects.filter(
        task_path="tickets.delivery.email.email_send_task", status="READY"
    )
