"""Nothing moves while the customer types: the layout shifts Chromium records over filling a form,
"Saved on this phone" included, add up to at most 0.02 (the page's load before it is apart)."""

import time

import pytest

from tests.support.browser import PHONE, fill_storehub_minimum
from tests.support.line import emulate_mobile_network

pytestmark = pytest.mark.e2e

# Every shift, including those right after a keystroke that Core Web Vitals leaves out: the
# customer sees those too.
SHIFT_RECORDER = """
window.__shifts = [];
new PerformanceObserver(function (list) {
  list.getEntries().forEach(function (entry) { window.__shifts.push(entry.value); });
}).observe({type: "layout-shift", buffered: false});
"""


def test_filling_a_form_moves_nothing_the_customer_sees(browsing, portal):
    page = browsing.page(viewport=PHONE, block_external=False)
    page.context.add_init_script(SHIFT_RECORDER)
    page.context.mobile_network = emulate_mobile_network(page)
    page.goto(portal.url + "/storehub/")
    page.wait_for_load_state("load")
    time.sleep(1)  # the map's tiles fail to load (offline but for the portal) and settle
    page.evaluate("() => { window.__shifts = []; }")

    # The first field first, at the top of the page, as a customer starts; then the rest.
    page.locator("#id_name").press_sequentially("Siti Rahman", delay=30)
    draft_line = page.locator("#phone-draft")
    for _ in range(100):
        if draft_line.is_visible():
            break
        time.sleep(0.1)
    fill_storehub_minimum(page)
    assert draft_line.is_visible()
    time.sleep(0.5)

    shifts = page.evaluate("() => window.__shifts")
    assert sum(shifts) <= 0.02, shifts
