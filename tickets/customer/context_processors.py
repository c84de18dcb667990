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
