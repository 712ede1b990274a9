"""README's phone screenshots (made by bench/screenshots.py) are there and stay light."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_screenshot_the_readme_shows_exists_and_is_a_light_png():
    readme = (ROOT / "README.md").read_text()
    images = re.findall(r"\]\((docs/screenshots/[^)]+)\)", readme)
    assert len(images) >= 7
    for image in images:
        path = ROOT / image
        assert path.is_file(), image
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", image
        assert path.stat().st_size < 150 * 1024, image
