"""The `parta` console script: Django's manage.py for this project."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "parta.settings")
    from django.core.management import execute_from_command_line

    argv = list(sys.argv)
    # Verbs are spelt with hyphens (`parta seed-demo`); command modules cannot be.
    if len(argv) > 1 and not argv[1].startswith("-"):
        argv[1] = argv[1].replace("-", "_")
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
