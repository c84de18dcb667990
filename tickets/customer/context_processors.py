from django.conf import settings


def operator(request) -> dict:
    """Who runs the portal and how to reach them, for every page's footer."""
    return {
        "operator": {
            "name": settings.OPERATOR_NAME,
            "contact": settings.OPERATOR_CONTACT,
            "privacy_contact": settings.PRIVACY_CONTACT,
        }
    }


def phone(request) -> dict:
    """What the pages' scripts keep in the customer's browser, and for how long."""
    return {"my_requests_keep_days": settings.MY_REQUESTS_KEEP_DAYS}
