"""Draws the portal's icons for the web app manifest: `.venv/bin/python scripts/make_icons.py`.

The favicon's picture (a speech bubble with a tick, white on the portal's blue), at 192 and 512
px: "any" icons on a transparent ground, and "maskable" ones whose ground fills the square and
whose picture keeps inside the middle 80% that every launcher's mask leaves visible.
"""

from pathlib import Path

from PIL import Image, ImageDraw

BLUE = (13, 110, 253, 255)
WHITE = (255, 255, 255, 255)
OUT = Path(__file__).resolve().parent.parent / "static" / "icons"
SIZES = (192, 512)
# Drawn four times larger, then reduced: smooth edges without an anti-aliasing library.
SUPERSAMPLE = 4


def bubble(draw: ImageDraw.ImageDraw, box: tuple[float, float, float, float], color) -> None:
    """A rounded speech bubble filling ``box``, its tail at the lower left."""
    left, top, right, bottom = box
    width, height = right - left, bottom - top
    body_bottom = top + height * 0.80
    draw.rounded_rectangle((left, top, right, body_bottom), radius=width * 0.18, fill=color)
    draw.polygon(
        [
            (left + width * 0.16, body_bottom - 1),
            (left + width * 0.40, body_bottom - 1),
            (left + width * 0.14, bottom),
        ],
        fill=color,
    )


def tick(draw: ImageDraw.ImageDraw, box: tuple[float, float, float, float], color) -> None:
    left, top, right, bottom = box
    width, height = right - left, bottom - top
    points = [
        (left + width * 0.27, top + height * 0.42),
        (left + width * 0.44, top + height * 0.58),
        (left + width * 0.74, top + height * 0.26),
    ]
    draw.line(points, fill=color, width=round(width * 0.11), joint="curve")


def icon(size: int, *, maskable: bool) -> Image.Image:
    big = size * SUPERSAMPLE
    image = Image.new("RGBA", (big, big), BLUE if maskable else (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if maskable:
        # White picture inside the safe zone (a circle of 80% of the side).
        margin = big * 0.24
        box = (margin, margin, big - margin, big - margin)
        bubble(draw, box, WHITE)
        tick(draw, box, BLUE)
    else:
        margin = big * 0.04
        box = (margin, margin, big - margin, big - margin)
        bubble(draw, box, BLUE)
        tick(draw, box, WHITE)
    return image.resize((size, size), Image.LANCZOS)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for size in SIZES:
        icon(size, maskable=False).save(OUT / f"icon-{size}.png", optimize=True)
        icon(size, maskable=True).save(OUT / f"icon-maskable-{size}.png", optimize=True)


if __name__ == "__main__":
    main()
