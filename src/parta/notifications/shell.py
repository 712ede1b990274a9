"""The app shell the service worker keeps: every static file of Parta's own apps (not the
admin's), under a version made of their contents, so a changed file makes a new sw.js and
with it a fresh cache, whether or not the static files carry hashes in their names."""

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.templatetags.static import static

import parta

PACKAGE = Path(parta.__file__).resolve().parent
# As collectstatic's defaults: no dotfiles, editors' backups or CVS folders.
IGNORED = ["CVS", ".*", "*~"]


@dataclass(frozen=True)
class Shell:
    urls: list[str]
    version: str


def _files() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for finder in finders.get_finders():
        for name, storage in finder.list(IGNORED):
            path = Path(storage.path(name)).resolve()
            if path.is_relative_to(PACKAGE):
                found.setdefault(name, path)
    return dict(sorted(found.items()))


def _shell() -> Shell:
    digest = hashlib.sha256()
    urls = ["/offline/"]
    for name, path in _files().items():
        digest.update(name.encode() + b"\0" + path.read_bytes())
        # The hashed name the pages link, and the plain one that ES modules' relative
        # imports (chat.js → ../realtime/events.js) reach: both, or the second load asks.
        urls.extend(dict.fromkeys([static(name), settings.STATIC_URL + name]))
    return Shell(urls, digest.hexdigest()[:16])


_cached = lru_cache(maxsize=1)(_shell)


def shell() -> Shell:
    """Read afresh under DEBUG, where files change under a running server."""
    return _shell() if settings.DEBUG else _cached()
