"""Time `parta import-activity` and one region report on a fresh SQLite or PostgreSQL database.

    python bench/run.py --backend sqlite --file bench/out/region-1.jsonl
    python bench/run.py --backend postgres --file bench/out/region-1.jsonl \
        [--admin-url postgres://postgres@127.0.0.1:5432/postgres] [--database parta_bench]

Each step runs in its own process, as an operator would run it: migrate, import (wall
time and the peak resident memory of that process), then a report process that builds
the region report for 2026-W47 --repeat times (the first call in a fresh process is
"cold": new connection, empty Django caches; the OS file cache is warm from the import).
The report process also times, for reference, the straight GROUP BY over the week's
messages that the per-person weekly tallies replace, and with --verify checks at this
size that the stored tallies equal a recount of every message.

Results go to bench/out/<backend>-<file stem>.json; a Markdown table is printed.
"""

import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out"
PARTA = Path(sys.executable).with_name("parta")


def count_lines(path: Path) -> int:
    lines = 0
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 24):
            lines += chunk.count(b"\n")
    return lines


def database_env(args: argparse.Namespace) -> dict[str, str]:
    """Environment for the child processes, pointing at the benchmark's database."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PARTA_DATA_DIR")}
    # As in production: DEBUG makes Django keep every query's SQL and parameters.
    env["DEBUG"] = "0"
    env["PARTA_ALLOW_DEV_SECRET"] = "1"  # noqa: S105 (a switch, not a secret)
    if args.backend == "sqlite":
        env["PARTA_DATA_DIR"] = str(OUT / f"data-{args.label or args.file.stem}")
    else:
        env["DATABASE_URL"] = f"{args.admin_url.rsplit('/', 1)[0]}/{args.database}"
    return env


def fresh_database(args: argparse.Namespace) -> dict[str, str]:
    """The benchmark's database, emptied."""
    env = database_env(args)
    if args.backend == "sqlite":
        data_dir = Path(env["PARTA_DATA_DIR"])
        shutil.rmtree(data_dir, ignore_errors=True)
        data_dir.mkdir(parents=True)
    else:
        import psycopg

        with psycopg.connect(args.admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{args.database}"')
    return env


def database_size(args: argparse.Namespace, env: dict[str, str]) -> int:
    if args.backend == "sqlite":
        data_dir = Path(env["PARTA_DATA_DIR"])
        return sum(p.stat().st_size for p in data_dir.glob("parta.sqlite3*"))
    import psycopg

    with psycopg.connect(env["DATABASE_URL"]) as conn:
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
        return int(row[0]) if row else 0


def run_timed(command: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Wall time and peak memory of one child process."""
    began = time.perf_counter()
    # Our own commands (parta, this script) with arguments from our own command line.
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE)  # noqa: S603
    output = child.stdout.read() if child.stdout is not None else b""
    _pid, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - began
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        sys.exit(f"{' '.join(command)} failed with exit code {child.returncode}")
    return {
        "seconds": elapsed,
        "max_rss_mib": usage.ru_maxrss / 1024,
        "user_seconds": usage.ru_utime,
        "system_seconds": usage.ru_stime,
        "output": output.decode(),
    }


def report_child(region: str, week: str, repeat: int, verify: bool) -> None:
    """Runs inside a fresh process: time the region report, print the figures as JSON."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "parta.settings")
    django.setup()
    from django.db import connection
    from django.db.models import Count

    from parta.calls.selectors import calls_with_stale_held
    from parta.messaging.models import Message
    from parta.monitoring import tallies
    from parta.monitoring.engine import weekly_report
    from parta.monitoring.scopes import resolve_scope
    from parta.monitoring.weeks import Week
    from parta.structure.models import Region

    reported = Week.parse(week)
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        report = weekly_report(resolve_scope(region=region), reported)
        times.append(time.perf_counter() - began)
    start, end = reported.bounds(Region.objects.get(external_id=region).zone)
    began = time.perf_counter()
    straight = (
        Message.objects.filter(written_at__gte=start, written_at__lt=end, is_service=False)
        .values("organization_id", "author_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    straight_rows = len(list(straight))
    straight_seconds = time.perf_counter() - began
    result: dict[str, Any] = {
        "report_seconds": times,
        "cold_seconds": times[0],
        "warm_min_seconds": min(times[1:] or times),
        "warm_median_seconds": statistics.median(times[1:] or times),
        "organizations": len(report.organizations),
        "total": report.total,
        # Equal digests = the same numbers in every row, whichever code or database made them.
        "rows_sha256": hashlib.sha256(
            json.dumps(report.organizations, sort_keys=True, default=str).encode()
        ).hexdigest(),
        "straight_group_by_seconds": straight_seconds,
        "straight_group_by_rows": straight_rows,
        "vendor": connection.vendor,
    }
    if verify:
        began = time.perf_counter()
        result["tallies_equal_recount"] = tallies.stored() == tallies.recount()
        result["verify_seconds"] = time.perf_counter() - began
        began = time.perf_counter()
        result["stale_held_calls"] = calls_with_stale_held().count()
        result["verify_held_seconds"] = time.perf_counter() - began
    print(json.dumps(result, ensure_ascii=False, default=str))


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_gib"] = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return info


def import_figures(result: dict[str, Any]) -> str:
    imp = result["import"]
    text = f"{imp['seconds']:.0f} s = {result['records_per_second']:,.0f} records/s"
    if imp.get("max_rss_mib") is not None:
        text += f", peak RSS {imp['max_rss_mib']:,.0f} MiB, CPU user {imp['user_seconds']:.0f} s"
    if imp.get("note"):
        text += f" ({imp['note']})"
    return text


def markdown(result: dict[str, Any]) -> str:
    rep = result["report"]
    rows = [
        ("backend", f"{result['backend']} ({result.get('server', '')})".replace(" ()", "")),
        ("file", f"{result['file']} ({result['records']:,} records)"),
        ("initial load", "yes" if result.get("initial_load") else "no"),
        ("import", import_figures(result)),
        ("database size", f"{result['database_bytes'] / 2**20:,.0f} MiB"),
        ("region report, cold", f"{rep['cold_seconds'] * 1000:,.0f} ms"),
        (
            "region report, warm",
            f"min {rep['warm_min_seconds'] * 1000:,.0f} ms, "
            f"median {rep['warm_median_seconds'] * 1000:,.0f} ms",
        ),
        (
            "straight GROUP BY (reference)",
            f"{rep['straight_group_by_seconds'] * 1000:,.0f} ms "
            f"({rep['straight_group_by_rows']:,} rows)",
        ),
        ("organizations in report", f"{rep['organizations']:,}"),
    ]
    if "tallies_equal_recount" in rep:
        rows.append(
            (
                "tallies = recount",
                f"{rep['tallies_equal_recount']} (checked in {rep['verify_seconds']:.0f} s)",
            )
        )
    if "stale_held_calls" in rep:
        rows.append(
            (
                "calls whose stored held moment ≠ their stays",
                f"{rep['stale_held_calls']} (checked in {rep['verify_held_seconds']:.0f} s)",
            )
        )
    lines = ["| measure | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in rows]
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_report":
        report_child(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] == "verify")
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), required=True)
    parser.add_argument("--file", type=Path, required=True)
    parser.add_argument("--region", default="r24")
    parser.add_argument("--week", default="2026-W47")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--verify", action="store_true", help="check tallies = recount")
    parser.add_argument("--admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="parta_bench")
    parser.add_argument(
        "--label",
        help="name of this run's SQLite data dir (bench/out/data-LABEL) and result file "
        "(bench/out/BACKEND-LABEL.json); the file's stem by default",
    )
    parser.add_argument(
        "--initial-load",
        action="store_true",
        help="import with `parta import-activity --initial-load` (a new installation's first load)",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="skip the import: time the report on the database a previous run filled",
    )
    args = parser.parse_args()

    records = count_lines(args.file)
    OUT.mkdir(exist_ok=True)
    target = OUT / f"{args.backend}-{args.label or args.file.stem}.json"
    result: dict[str, Any] = {
        "backend": args.backend,
        "file": args.file.name,
        "records": records,
        "machine": machine(),
    }
    if args.reuse:
        # Time the report again on the database a previous run filled (after code changes).
        result |= {k: v for k, v in json.loads(target.read_text()).items() if k not in result}
        env = database_env(args)
    else:
        env = fresh_database(args)
        result["migrate_seconds"] = run_timed([str(PARTA), "migrate", "-v0"], env)["seconds"]
        command = [str(PARTA), "import-activity", str(args.file), "--quiet"]
        imported = run_timed(command + ["--initial-load"] * args.initial_load, env)
        result["initial_load"] = args.initial_load
        result |= {
            "import": {k: v for k, v in imported.items() if k != "output"},
            "import_output": imported["output"],
            "records_per_second": records / imported["seconds"],
            "database_bytes": database_size(args, env),
            "imported_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        # Saved now: the report step may fail on its own without losing the import's figures.
        target.write_text(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    # The tree may have gained migrations while a long import ran.
    run_timed([str(PARTA), "migrate", "-v0"], env)
    report_run = run_timed(
        [
            sys.executable,
            __file__,
            "_report",
            args.region,
            args.week,
            str(args.repeat),
            "verify" if args.verify else "-",
        ],
        env,
    )
    result["report"] = json.loads(report_run["output"].strip().splitlines()[-1])
    result["reported_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    if args.backend == "postgres":
        import psycopg

        with psycopg.connect(env["DATABASE_URL"]) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            result["server"] = f"PostgreSQL {row[0]}" if row else ""
    else:
        import sqlite3

        result["server"] = f"SQLite {sqlite3.sqlite_version}"
    target.write_text(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    print(markdown(result))
    print(f"\n→ {target}")


if __name__ == "__main__":
    main()
