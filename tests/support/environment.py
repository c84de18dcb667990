"""Loaded by pytest (`-p tests.support.environment`) before Django starts: a credential-free run."""

import os

# Tests never need real credentials: DEBUG settings, no sandbox process (tests start their own
# loopback providers), and a key that exists only here.
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key")
