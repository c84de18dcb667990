"""The portal can be put on a phone's home screen: Chromium finds nothing missing.

Chromium never offers installation in an incognito window, which every Playwright context is,
so this test opens the portal in a browser with a profile on disk, as a phone's is.
"""

import time

import pytest

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, PHONE

pytestmark = pytest.mark.e2e


def test_chromium_finds_no_installability_error(browser, portal, tmp_path):
    context = browser.browser_type.launch_persistent_context(
        str(tmp_path / "profile"),
        executable_path=str(CHROMIUM),
        args=CHROMIUM_ARGS,
        viewport=PHONE,
        locale="ms-MY",
    )
    try:
        page = context.new_page()
        page.goto(portal.url + "/")
        session = context.new_cdp_session(page)
        # The manifest is fetched when asked for; poll until Chromium has read it.
        for _ in range(50):
            manifest = session.send("Page.getAppManifest")
            if manifest.get("data"):
                break
            time.sleep(0.1)
        errors = session.send("Page.getInstallabilityErrors")["installabilityErrors"]
    finally:
        context.close()

    assert manifest["url"] == portal.url + "/manifest.webmanifest"
    assert manifest["errors"] == []
    assert errors == []
