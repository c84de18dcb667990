"""Each provider's tests live in ``tests/providers/<alias>/``. What the shared suites and
fixtures need of a provider is declared in that package's ``__init__.py``:

- ``valid_data(**overrides)``: a valid request, as the provider form's cleaned data;
- ``PRODUCTION_SETTINGS``: its environment variables as a deployment sets them (example values
  that pass ``check --deploy``, never credentials);

and its form's contract in ``form_contract.py`` (``test_form_contract.py``).
"""

import importlib
import pkgutil
from types import ModuleType

from django.conf import settings

DECLARATIONS = ("valid_data", "PRODUCTION_SETTINGS")
# Every provider the portal is configured with: what a test about "each provider" runs over, so
# that a new one gets it too.
PROVIDERS = list(settings.TICKET_PROVIDERS)


def declared(alias: str) -> ModuleType:
    """The test package of provider ``alias``, with everything it must declare."""
    try:
        package = importlib.import_module(f"{__name__}.{alias}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{alias}":
            raise
        raise AssertionError(
            f"tests/providers/{alias}/__init__.py is missing: it declares "
            f"{', '.join(DECLARATIONS)} for the shared suites."
        ) from None
    missing = [name for name in DECLARATIONS if not hasattr(package, name)]
    assert not missing, f"tests/providers/{alias}/__init__.py must declare {', '.join(missing)}."
    return package


def provider_test_packages() -> list[str]:
    """The aliases of every provider with a test package here."""
    return sorted(module.name for module in pkgutil.iter_modules(__path__) if module.ispkg)
