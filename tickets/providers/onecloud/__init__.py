"""OneCloud ("Tiket - Create", Indonesia): everything the portal knows about it is here.

``client.py`` the provider (texts, settings check, request, reply), ``forms.py`` the customer's
form, ``sandbox.py`` the fake endpoints. Configured as
``TICKET_PROVIDERS["onecloud"] = {"BACKEND": "tickets.providers.onecloud.OneCloud", ...}``.
"""

from tickets.providers.onecloud.client import OneCloud, jwt_expiry

__all__ = ["OneCloud", "jwt_expiry"]
