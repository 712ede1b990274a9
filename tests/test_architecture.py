"""docs/architecture.md names every app and shared module under src/parta, and no other,
and states the layers that pyproject.toml's import contract enforces."""

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
SOURCE = ROOT / "src" / "parta"
PAGE = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
RUSSIAN, ENGLISH = PAGE.split("\n## English\n")


@pytest.mark.parametrize("part", [RUSSIAN, ENGLISH], ids=["ru", "en"])
def test_the_page_names_every_app_and_shared_module(part: str) -> None:
    apps = {path.parent.name for path in SOURCE.glob("*/apps.py")}
    assert set(re.findall(r"^\| `(\w+)` \|", part, re.MULTILINE)) == apps
    shared = {path.name for path in SOURCE.glob("*.py") if path.name != "__init__.py"}
    shared |= {f"{path.name}/" for path in SOURCE.iterdir() if (path / "__init__.py").exists()}
    shared -= {f"{app}/" for app in apps}
    assert shared <= set(re.findall(r"`([\w.]+\.py|\w+/)`", part))


@pytest.mark.parametrize("part", [RUSSIAN, ENGLISH], ids=["ru", "en"])
def test_the_page_states_the_contracts_layers(part: str) -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (layers,) = (
        contract["layers"]
        for contract in config["tool"]["importlinter"]["contracts"]
        if contract["type"] == "layers"
    )
    stated = " → ".join(f"`{layer.replace('parta.', '')}`" for layer in layers)
    assert stated in " ".join(part.split())
