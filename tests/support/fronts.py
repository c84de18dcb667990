"""What the shipped fronts (nginx in the image, Caddy in compose) send a browser, byte for byte."""

import gzip
import re

import requests


def on_the_wire(url: str, accept_encoding: str) -> tuple[requests.Response, bytes]:
    """The response and its body as it crossed the network, before any decoding."""
    response = requests.get(
        url, headers={"Accept-Encoding": accept_encoding}, timeout=10, stream=True
    )
    return response, response.raw.read(decode_content=False)


def assert_compressed_where_safe(base: str, form_path: str) -> None:
    """A form page goes gzipped to a browser that takes gzip, and whole to one that does not;
    the staff console and Find my request go whole to both (docs/operations.md#compression)."""
    page, wire = on_the_wire(base + form_path, "gzip, deflate, br")
    assert page.status_code == 200
    assert page.headers["Content-Encoding"] == "gzip"
    assert "accept-encoding" in page.headers["Vary"].lower()
    html = gzip.decompress(wire).decode()
    assert re.search(r'name="csrfmiddlewaretoken" value="[^"]+"', html)
    assert '<meta name="description"' in html
    # A form page's HTML shrinks to well under half on the wire.
    assert len(wire) * 2 < len(html), (len(wire), len(html))

    plain, plain_wire = on_the_wire(base + form_path, "identity")
    assert plain.status_code == 200
    assert "Content-Encoding" not in plain.headers
    assert 'name="csrfmiddlewaretoken"' in plain_wire.decode()

    # Pages that show what stays the same between loads beside an echo of their address.
    for path in ("/admin/login/?next=/admin/", "/find/?next=1"):
        whole, whole_wire = on_the_wire(base + path, "gzip")
        assert whole.status_code == 200, path
        assert "Content-Encoding" not in whole.headers, path
        assert 'name="csrfmiddlewaretoken"' in whole_wire.decode(), path
