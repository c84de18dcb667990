"""StoreHub field service ("Create Ticket API", Malaysia): its client's codes and quirks, its
settings, and its form's quirks and contract. Declared for the shared suites
(``tests/providers/__init__.py``):"""

from decimal import Decimal

PRODUCTION_SETTINGS = {
    "STOREHUB_URL": "https://storehub.example.net",
    "STOREHUB_API_KEY": "tk_example",
}


def valid_data(**overrides) -> dict:
    data = {
        "name": "Ahmad Ibrahim",
        "phone": "60123456789",
        "issue": "*Onsite Support",
        "priority": 0,
        "receive_sms": True,
        "email": "ahmad_ibrahim@gmail.com",
        "remark": "Describe your issue",
        "store_name": "KL Branch",
        "dealer_reseller": "Alex",
        "address": "23, Jalan Ampang, Taman KLCC, 55000 KL",
        "state": "Kuala Lumpur",
        "service_id": 1,
        "latitude": Decimal("3.157300"),
        "longitude": Decimal("101.712200"),
    }
    data.update(overrides)
    return data
