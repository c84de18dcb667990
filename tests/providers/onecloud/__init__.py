"""OneCloud ("Tiket - Create", Indonesia): its client's codes and quirks, its settings, its
form's quirks and contract, and its token and quota rules through whole forwards. Declared for
the shared suites (``tests/providers/__init__.py``):"""

from decimal import Decimal

PRODUCTION_SETTINGS = {
    "ONECLOUD_URL": "https://onecloud.example.net",
    "ONECLOUD_TOKEN": "example-token",
}


def valid_data(**overrides) -> dict:
    data = {
        "name": "Agung Januar",
        "email": "agung@email.com",
        "subject": "Subscribe to onebox",
        "category": "Request",
        "content": "Hello, I want to subscribe to onebox, how to do it? thank you",
        "latitude": Decimal("-6.200000"),
        "longitude": Decimal("106.816666"),
    }
    data.update(overrides)
    return data
