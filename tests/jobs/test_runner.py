"""The runner registers every app's tasks: a consumer schedules only the tasks it imported."""

import ast
from pathlib import Path

import parta
from parta.jobs import runner


def test_the_runner_imports_every_apps_jobs() -> None:
    source = Path(parta.__file__).parent
    apps = {path.parent.name for path in source.glob("*/jobs.py")}
    imported = {
        node.module.removeprefix("parta.")
        for node in ast.walk(ast.parse(Path(runner.__file__).read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom)
        and node.module
        and any(alias.name == "jobs" for alias in node.names)
    }
    assert apps == imported
