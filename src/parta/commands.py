"""What Parta's commands that serve no request share."""

from django.core.checks import Tags

# Every system check but the URL ones, for commands that serve no request (`report`,
# `import-activity`, the cron jobs): checking the error handlers imports every URLconf and
# with it the whole API, 0.9 s of a 2.7 s `parta report` under the profiler (2026-12-02).
# `serve`, `check` and `migrate` still run them all.
OFFLINE_CHECKS = [value for name, value in vars(Tags).items() if not name.startswith("_")]
OFFLINE_CHECKS.remove(Tags.urls)
