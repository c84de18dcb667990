"""The portal can be put on a phone's home screen: Chromium finds nothing missing.

Chromium never offers installation in an incognito window, which every Playwright context is,
so this test opens the portal in a browser with a profile on disk, as a phone's is.
"""

import time

import pytest

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, PHONE, csp_violations

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


# The browser's offer as Chromium makes it: an event whose prompt() shows its own dialog.
OFFER = """() => {
    window.__installPrompts = 0;
    const offer = new Event("beforeinstallprompt", {cancelable: true});
    offer.prompt = () => { window.__installPrompts += 1; return Promise.resolve(); };
    window.dispatchEvent(offer);
    return offer.defaultPrevented;
}"""


def test_where_the_browser_offers_it_a_quiet_button_adds_the_portal_in_malay(browsing, portal):
    page = browsing.page(viewport=PHONE, locale="ms-MY")
    page.goto(portal.url + "/")
    button = page.locator("#install-app")
    assert button.is_hidden()  # no offer, no button

    assert page.evaluate(OFFER)  # the page keeps the browser's own banner for its button
    assert button.is_visible()
    assert button.inner_text() == "Tambah ke skrin utama"
    # In the footer: nothing the customer reads or fills moves when it shows.
    assert page.locator("footer #install-app").count() == 1

    button.click()
    assert page.evaluate("() => window.__installPrompts") == 1
    assert button.is_hidden()
    assert csp_violations(page) == []
