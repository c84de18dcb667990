"""The landing page's service cards in full rows however many services there are: one column on
a 360 px phone, no card left alone on a row on a tablet or a 1280 px desktop, and the cards of
a row as wide and as tall as each other. Measured from the boxes the browser drew."""

import pytest

from tests.support.bare_providers import Bare, WithPhone, register
from tests.support.browser import DESKTOP, PHONE, location, screenshot
from tests.support.workers import wait_for

pytestmark = pytest.mark.e2e

TABLET = {"width": 800, "height": 1000}
# The configured two, then throw-away ones: what a third and a fourth provider add.
SERVICES = {"onecloud": None, "storehub": None, "third": Bare, "fourth": WithPhone}
# Cards per row, top to bottom, by the number of services.
ROWS = {
    "phone": {2: [1, 1], 3: [1, 1, 1], 4: [1, 1, 1, 1]},
    "tablet": {2: [2], 3: [3], 4: [2, 2]},
    "desktop": {2: [2], 3: [3], 4: [4]},
}
VIEWPORTS = {"phone": PHONE, "tablet": TABLET, "desktop": DESKTOP}


def card_rows(page, count: int) -> list[list[dict]]:
    """The cards' boxes by row, top to bottom, once all ``count`` cards are drawn."""
    cards = page.locator(".service-card")

    def boxes():
        if cards.count() != count:
            return None
        drawn = [cards.nth(index).bounding_box() for index in range(count)]
        return drawn if all(drawn) else None

    rows: dict[int, list[dict]] = {}
    for box in wait_for(boxes, 15, what=f"{count} cards drawn"):
        rows.setdefault(round(box["y"]), []).append(box)
    return [sorted(rows[top], key=lambda box: box["x"]) for top in sorted(rows)]


@pytest.mark.parametrize("count", [2, 3, 4])
@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_the_cards_fill_their_rows(browsing, settings, viewport, count):
    register(settings, **dict(list(SERVICES.items())[:count]))
    page = browsing.page(viewport=VIEWPORTS[viewport])

    page.goto(browsing.server_url + "/")
    rows = card_rows(page, count)

    screenshot(page, f"landing-{count}-services")
    assert [len(row) for row in rows] == ROWS[viewport][count]
    boxes = [box for row in rows for box in row]
    widths = [box["width"] for box in boxes]
    assert max(widths) - min(widths) <= 1, widths
    for row in rows:
        heights = [box["height"] for box in row]
        assert max(heights) - min(heights) <= 1, heights
    grid = page.locator("ul.row").bounding_box()
    # The cards share the grid's whole width between them (the gutters apart), and none
    # reaches past the screen.
    for row in rows:
        assert row[-1]["x"] + row[-1]["width"] - row[0]["x"] >= grid["width"] - 32, row
    assert all(box["x"] >= 0 for box in boxes)
    assert all(box["x"] + box["width"] <= VIEWPORTS[viewport]["width"] for box in boxes)


def test_with_one_service_the_landing_page_is_its_form(browsing, settings):
    register(settings, third=Bare)
    page = browsing.page(viewport=PHONE)

    page.goto(browsing.server_url + "/")

    assert wait_for(lambda: location(page) == "/third/", 15, what="the only form")
