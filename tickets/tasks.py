"""Background tasks: forward a submission, sweep up what a dead worker left behind, send e-mails.

Tasks call services and nothing else; they import the services in their bodies, because the
services import these tasks to queue them. Django's tasks framework has no retries yet, so a
forward that must be tried again is queued again with ``run_after``; the service decides when.
"""

from django.tasks import task


@task()
def forward_submission(submission_id: int) -> str:
    from tickets.services.forwarding import submission_forward

    submission = submission_forward(submission_id=submission_id)
    return submission.status if submission else "nothing to do"


@task()
def sweep_stalled_forwards() -> dict[str, int]:
    from tickets.services.forwarding import forwards_sweep

    return forwards_sweep()


@task()
def send_email(email_id: int) -> str:
    from tickets.services.notifications import email_send

    email = email_send(email_id=email_id)
    return email.state if email else "nothing to do"


@task()
def send_staff_alerts() -> str:
    from tickets.services.notifications import staff_alerts_send

    email = staff_alerts_send()
    return f"alert e-mail {email.pk}" if email else "nothing to send now"
