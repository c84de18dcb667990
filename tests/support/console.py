"""What the staff-console tests share: the console's addresses, and how a test drives it."""

from django.urls import reverse

from tests.support.factories import stored_submission
from tickets.admin.forms import correction_initial
from tickets.models import Status, Submission

CHANGELIST = "admin:tickets_submission_changelist"
EXPORT = "admin:tickets_submission_export"


def make(provider: str = "storehub", status: str = Status.QUEUED, **overrides) -> Submission:
    """A stored submission, without queueing a forward: the console only reads it."""
    return stored_submission(provider, status=status, **overrides)


def changelist(client, **params):
    return client.get(reverse(CHANGELIST), params)


def listed_references(response) -> set[str]:
    return {submission.reference for submission in response.context["cl"].result_list}


def change_url(submission: Submission) -> str:
    return reverse("admin:tickets_submission_change", args=[submission.pk])


def correct_url(submission: Submission) -> str:
    return reverse("admin:tickets_submission_correct", args=[submission.pk])


def run_action(client, action: str, *submissions: Submission, **fields):
    """Post ``action`` from the list on ``submissions``, with any more ``fields`` (the
    answers of a confirmation page)."""
    return client.post(
        reverse(CHANGELIST),
        {
            "action": action,
            "_selected_action": [s.pk for s in submissions],
            "index": 0,
            "select_across": 0,
            **fields,
        },
    )


def refreshed(submission: Submission) -> Submission:
    submission.refresh_from_db()
    return submission


def form_data(submission: Submission, **changes) -> dict:
    """What the correction form posts: every field as shown, with ``changes`` applied."""
    data = {}
    for name, value in {**correction_initial(submission), **changes}.items():
        if value is None:
            data[name] = ""
        elif isinstance(value, bool):
            data[name] = "true" if value else "false"
        else:
            data[name] = str(value)
    return data
