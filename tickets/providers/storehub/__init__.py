"""StoreHub field service ("Create Ticket API", Malaysia): everything the portal knows about it.

``client.py`` the provider (texts, settings check, request, reply), ``forms.py`` the customer's
form and its documented choices, ``sandbox.py`` the fake endpoints. Configured as
``TICKET_PROVIDERS["storehub"] = {"BACKEND": "tickets.providers.storehub.StoreHub", ...}``.
"""

from tickets.providers.storehub.client import StoreHub

__all__ = ["StoreHub"]
