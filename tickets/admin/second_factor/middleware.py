"""No console page before the second factor.

With ``STAFF_SECOND_FACTOR_REQUIRED`` on, a staff member who signed in with the password alone
reaches, under the console's address, only the sign-in, the sign-out and the second factor's
own pages. Every other address there (lists, details, exports, actions, the home page, Django's
own pages, ones added later) sends them to the second factor, and back afterwards. Checked
before any view runs, so no console view needs to remember it.
"""

from django.urls import reverse

from tickets.admin.second_factor.services import second_factor_due
from tickets.admin.second_factor.views import redirect_to_second_factor


class SecondFactorMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        # The path first: a customer's request never touches the session here.
        if _guarded(request.path_info) and second_factor_due(request):
            return redirect_to_second_factor(request)
        return self.get_response(request)


def _guarded(path: str) -> bool:
    """A console address other than signing in or out and the second factor's pages."""
    if not path.startswith(reverse("admin:index")):
        return False
    open_paths = (reverse("admin:login"), reverse("admin:logout"))
    return path not in open_paths and not path.startswith(reverse("second_factor:verify"))
