"""Pages go gzipped to a browser that accepts it; nothing else is touched."""

import gzip

import pytest


@pytest.mark.django_db
def test_a_page_is_gzipped_for_a_browser_that_accepts_it(client):
    plain = client.get("/")
    packed = client.get("/", HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert "Content-Encoding" not in plain
    assert packed["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed["Vary"]
    page = gzip.decompress(packed.content).decode()
    assert "<html" in page and "Парта" in page
    assert len(packed.content) < len(plain.content)


@pytest.mark.django_db
def test_json_is_left_as_it_is(client):
    schema = client.get("/api/openapi.json", HTTP_ACCEPT_ENCODING="gzip")
    assert schema.status_code == 200
    assert "Content-Encoding" not in schema
    assert schema.json()["info"]
