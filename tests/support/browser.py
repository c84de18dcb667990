"""What the browser tests share: where things are, how pages are opened, audited and kept."""

import json
import re
from pathlib import Path

from playwright.sync_api import Error

BASE_DIR = Path(__file__).resolve().parents[2]
ARTIFACTS = BASE_DIR / "artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
AXE_SCRIPT = BASE_DIR / "static" / "vendor" / "axe-core" / "axe.min.js"
CHROMIUM = Path("/usr/bin/chromium")
# The flags every headless Chromium here needs (as root, offline, no background traffic).
CHROMIUM_BASE_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
CHROMIUM_ARGS = [
    *CHROMIUM_BASE_ARGS,
    # Nothing but the live server resolves, as on a phone with no network beyond it. Tests also
    # block with page.route; this covers the page-weight test, which needs the HTTP cache that
    # request interception turns off.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 760}
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

# Records Content-Security-Policy violations, so a test can prove the pages work under the CSP.
CSP_RECORDER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""

# How many sends the phone keeps (phone.js's IndexedDB outbox).
KEPT_SENDS = """() => new Promise((resolve, reject) => {
    const opening = indexedDB.open("support-portal");
    opening.onerror = () => reject(opening.error);
    opening.onsuccess = () => {
        const db = opening.result;
        const all = db.transaction("outbox").objectStore("outbox").getAll();
        all.onsuccess = () => { resolve(all.result.length); db.close(); };
        all.onerror = () => reject(all.error);
    };
})"""


class Browsing:
    """Opens pages in fresh browser contexts and closes them all at the end of a test."""

    def __init__(self, browser, server_url: str) -> None:
        self.browser = browser
        self.server_url = server_url
        self.contexts = []
        self.blocked: list[str] = []

    def page(
        self,
        *,
        viewport=DESKTOP,
        javascript: bool = True,
        block_external: bool = True,
        inject_axe: bool = False,
        locale: str = "en-MY",
    ):
        # Injecting axe-core adds an inline script, which the site's CSP rightly refuses: only
        # pages that are audited bypass the CSP; the journeys run under it.
        context = self.browser.new_context(
            viewport=viewport,
            java_script_enabled=javascript,
            bypass_csp=inject_axe,
            locale=locale,
        )
        self.contexts.append(context)
        if block_external:
            context.route("**/*", self._only_the_live_server)
        context.add_init_script(CSP_RECORDER)
        page = context.new_page()
        page.set_default_timeout(15_000)
        # A page on the emulated mobile line, served by a live server that shares two cores with
        # the other test worker, once took more than 15 s to load in CI: loading is what is under
        # test only where a test says so, so navigations wait as long as a slow phone would.
        page.set_default_navigation_timeout(60_000)
        return page

    def _only_the_live_server(self, route) -> None:
        if route.request.url.startswith(self.server_url):
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort("internetdisconnected")

    def close(self) -> None:
        for context in self.contexts:
            context.close()


def csp_violations(page) -> list[str]:
    return page.evaluate("window.__cspViolations || []")


def axe_violations(page) -> list[dict]:
    """WCAG 2.1 A and AA violations that axe-core finds on the page as it is now."""
    page.add_script_tag(path=str(AXE_SCRIPT))
    return page.evaluate(
        """async (tags) => {
            const results = await axe.run(document, {runOnly: {type: "tag", values: tags}});
            return results.violations.map((v) => ({
                id: v.id,
                impact: v.impact,
                help: v.help,
                nodes: v.nodes.map((n) => n.target.join(" ")),
            }));
        }""",
        WCAG_TAGS,
    )


def assert_accessible(page, name: str) -> None:
    violations = axe_violations(page)
    assert violations == [], f"{name}: {json.dumps(violations, indent=2)}"


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"]
    path = SCREENSHOTS / f"{name}-{width}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# The StoreHub form's required fields as a shop owner in KL would fill them:
# (field id, English label, value); selects take the value of an option.
STOREHUB_MINIMUM = [
    ("name", "Your name", "Siti Rahman"),
    ("phone", "Phone number", "019-876 5432"),
    ("address", "Shop address", "1, Jalan Tun Razak, 50400 KL"),
    ("state", "State", "Kuala Lumpur"),
    ("latitude", "Latitude", "3.1478"),
    ("longitude", "Longitude", "101.7113"),
    ("service_id", "Service", "23"),
    ("issue", re.compile(r"^\s*Issue\b"), "POS swap"),
]


def fill_storehub_minimum(page, *, by_id: bool = False) -> None:
    """Fill the StoreHub form's required fields: by label, as a person reads the English form,
    or ``by_id`` where the labels are in another language."""
    for field_id, label, value in STOREHUB_MINIMUM:
        field = page.locator(f"#id_{field_id}") if by_id else page.get_by_label(label)
        if field_id in ("state", "service_id"):
            field.select_option(value)
        else:
            field.fill(value)


STATUS_PATH = re.compile(r"^/status/[0-9a-f-]{36}/$")


def location(page) -> str:
    """Where the page is. (Playwright's page.url can miss a navigation that a script starts.)"""
    try:
        return page.evaluate("location.pathname")
    except Error:  # between two documents
        return ""


def on_status_page(page) -> bool:
    return bool(STATUS_PATH.match(location(page)))


def audit(page, name: str) -> None:
    # No page may be wider than the screen: a phone would scroll sideways.
    width = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width, name
    screenshot(page, name)
    assert_accessible(page, name)
