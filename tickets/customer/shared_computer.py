"""A customer's "This is a shared or public computer": nothing of theirs kept in the browser.

The choice is a control of the page, posted beside the form's fields (``FIELD``) and never one
of them, so no provider ever receives it. The browser's scripts do the keeping and so the not
keeping (static/tickets/phone.js); the server remembers, in the session, which requests this
browser sent or found that way, so that their status pages say so to the scripts and show no
more of the customer than the reference and the state, whoever opens them again from the
history. Without JavaScript nothing is kept in the browser at all, and the same holds.
"""

from django.http import HttpRequest, HttpResponse

from tickets.models import Submission

FIELD = "shared_computer"
# The requests sent or found from this browser with the choice ticked, newest last.
SESSION_KEY = "shared_requests"
# "Find my request" asked with the choice ticked: the request its code opens is one of them.
FIND_SHARED_KEY = "find_shared"
KEPT = 20
# On a page the service worker must not keep (templates/tickets/service-worker.js, isPage).
NOT_KEPT_HEADER = "X-Not-Kept"


def shared_computer_chosen(request: HttpRequest) -> bool:
    """Whether the form just posted had the choice ticked."""
    return request.method == "POST" and bool(request.POST.get(FIELD))


def shared_request_note(request: HttpRequest, *, submission: Submission) -> None:
    """Note that ``submission`` was sent or found in this browser as on a shared computer."""
    public_id = str(submission.public_id)
    noted = [other for other in request.session.get(SESSION_KEY, []) if other != public_id]
    request.session[SESSION_KEY] = [*noted, public_id][-KEPT:]


def shared_request(request: HttpRequest, *, submission: Submission) -> bool:
    """Whether ``submission`` was sent or found in this browser as on a shared computer."""
    return str(submission.public_id) in request.session.get(SESSION_KEY, [])


def shared_find_asked(request: HttpRequest, *, chosen: bool) -> None:
    """Note whether "Find my request" was asked with the choice ticked."""
    request.session[FIND_SHARED_KEY] = chosen


def shared_find_opened(request: HttpRequest, *, submission: Submission) -> None:
    """A code of "Find my request" opened ``submission``: noted if it was asked for as shared."""
    if request.session.pop(FIND_SHARED_KEY, False):
        shared_request_note(request, submission=submission)


def not_kept(response: HttpResponse) -> HttpResponse:
    """``response``, marked for the service worker: a page it never keeps a copy of, so none is
    left on the computer even if the browser is killed before the page could say so."""
    response[NOT_KEPT_HEADER] = "shared-computer"
    return response
