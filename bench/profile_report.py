"""Where the time of one region report goes: every SQL query with its time, then Python.

Run it against a database that bench/run.py has filled (same environment variables):

    PARTA_DATA_DIR=bench/out/data-region-1 python bench/profile_report.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/parta_bench python bench/profile_report.py

The report is built once to warm up, then once under cProfile while its queries are
recorded; each recorded query is then replayed alone with fetchall (SQLite does most of
a SELECT's work while rows are fetched, after `execute` returns).
"""

import argparse
import cProfile
import os
import pstats
import time
from collections.abc import Callable
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--region", default="r24")
    parser.add_argument("--week", default="2026-W47")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "parta.settings")
    import django

    django.setup()
    from django.db import connection

    from parta.monitoring.engine import weekly_report
    from parta.monitoring.scopes import resolve_scope
    from parta.monitoring.weeks import Week

    week = Week.parse(args.week)
    weekly_report(resolve_scope(region=args.region), week)

    recorded: list[tuple[str, Any]] = []

    def record(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        recorded.append((sql, params))
        return execute(sql, params, many, context)

    profile = cProfile.Profile()
    began = time.perf_counter()
    with connection.execute_wrapper(record):
        profile.enable()
        weekly_report(resolve_scope(region=args.region), week)
        profile.disable()
    total = time.perf_counter() - began
    queries: list[tuple[float, int, int, str]] = []
    with connection.cursor() as cursor:
        for sql, params in recorded:
            began = time.perf_counter()
            cursor.execute(sql, params)
            rows = len(cursor.fetchall())
            queries.append((time.perf_counter() - began, rows, len(params or ()), sql))
    in_sql = sum(seconds for seconds, *_rest in queries)
    print(f"report {total * 1000:.0f} ms under cProfile; {len(queries)} queries")
    print(f"the same queries replayed alone with fetchall: {in_sql * 1000:.0f} ms\n")
    for seconds, rows, params, sql in sorted(queries, reverse=True)[: args.top]:
        print(f"{seconds * 1000:8.1f} ms {rows:7d} rows {params:6d} params  {sql[:400]}")
    print()
    pstats.Stats(profile).sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
