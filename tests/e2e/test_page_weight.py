"""A form's first load stays small on a slow phone connection, and a repeat visit is nearly free.

Measured from the browser's own resource timings (bytes on the wire: headers plus compressed
bodies), against static files served as in production: hashed names, gzip, immutable caching.
"""

import json

import pytest

from tests.support.browser import ARTIFACTS, PHONE

pytestmark = pytest.mark.e2e

FIRST_LOAD_LIMIT_BYTES = 130 * 1024
FORMS = ("/onecloud/", "/storehub/")

TRANSFERS = """() => {
    const pick = (entry) => ({
        name: entry.name,
        type: entry.initiatorType,
        transferSize: entry.transferSize,
        encodedBodySize: entry.encodedBodySize,
        decodedBodySize: entry.decodedBodySize,
    });
    return {
        document: pick(performance.getEntriesByType("navigation")[0]),
        resources: performance.getEntriesByType("resource").map(pick),
    };
}"""


def load(page, origin: str, path: str) -> dict:
    page.goto(origin + path, wait_until="networkidle")
    transfers = page.evaluate(TRANSFERS)
    # Map tiles are excluded from the budget (and unreachable here anyway).
    transfers["resources"] = [r for r in transfers["resources"] if r["name"].startswith(origin)]
    transfers["total_bytes"] = transfers["document"]["transferSize"] + sum(
        r["transferSize"] for r in transfers["resources"]
    )
    return transfers


def test_first_load_is_small_and_a_repeat_visit_fetches_only_the_html(browser, portal):
    report = {"limit_bytes": FIRST_LOAD_LIMIT_BYTES, "viewport": PHONE, "pages": {}}
    for path in FORMS:
        # A fresh context has an empty cache, like a first visit. No page.route here: request
        # interception turns the HTTP cache off; the browser's resolver blocks the outside.
        context = browser.new_context(viewport=PHONE)
        try:
            page = context.new_page()
            first = load(page, portal.url, path)
            page.goto("about:blank")
            repeat = load(page, portal.url, path)
            static_url = next(r["name"] for r in first["resources"] if r["name"].endswith(".css"))
            static_headers = context.request.get(
                static_url, headers={"Accept-Encoding": "gzip"}
            ).headers
        finally:
            context.close()

        report["pages"][path] = {
            "first_load_bytes": first["total_bytes"],
            "first_load": first,
            "repeat_visit_bytes": repeat["total_bytes"],
            "repeat_visit": repeat,
        }
        assert first["total_bytes"] <= FIRST_LOAD_LIMIT_BYTES, json.dumps(first, indent=2)
        names = {r["name"].rsplit("/", 1)[-1] for r in first["resources"]}
        assert any(n.startswith("leaflet.") and n.endswith(".js") for n in names), names
        assert not any("bootstrap.bundle" in n for n in names)
        # Static files go compressed, under hashed names, cacheable for good.
        assert static_headers.get("content-encoding") == "gzip"
        assert "immutable" in static_headers.get("cache-control", "")
        # The repeat visit downloads the document and nothing else.
        assert repeat["document"]["transferSize"] > 0
        assert repeat["resources"], "the repeat visit loaded no static file at all"
        assert [r for r in repeat["resources"] if r["transferSize"] > 0] == []

    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "page-weight.json").write_text(json.dumps(report, indent=2) + "\n")
