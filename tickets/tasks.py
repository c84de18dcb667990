"""Background tasks, each named after the service it runs: forward a submission, send an
e-mail or a WhatsApp message, gather staff alerts, sweep the outboxes, the daily upkeep.

Tasks call services and nothing else; they import the services in their bodies, because the
services import these tasks to queue them. Django's tasks framework has no retries yet, so work
that must be tried again is queued again with ``run_after``; the service decides when.
"""

from django.tasks import task


@task()
def submission_forward(submission_id: int) -> str:
    from tickets.services import forward

    submission = forward.submission_forward(submission_id=submission_id)
    return submission.status if submission else "nothing to do"


@task()
def email_send(email_id: int) -> str:
    from tickets.services import notifications

    email = notifications.email_send(email_id=email_id)
    return email.state if email else "nothing to do"


@task()
def whatsapp_send(message_id: int) -> str:
    from tickets.services import whatsapp

    message = whatsapp.whatsapp_send(message_id=message_id)
    return message.state if message else "nothing to do"


@task()
def staff_alerts_send() -> str:
    from tickets.services import notifications

    email = notifications.staff_alerts_send()
    return f"alert e-mail {email.pk}" if email else "nothing to send now"


@task()
def outbox_sweep() -> dict[str, int]:
    from tickets.services import recovery

    return recovery.outbox_sweep()


@task()
def maintenance_run() -> dict[str, int]:
    from tickets.services import maintenance

    return maintenance.maintenance_run()
