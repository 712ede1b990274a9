"""The job runner: huey consumers for every app's jobs, in `parta serve` or `parta run-jobs`.

Each app keeps its own tasks in its jobs.py; this app only imports them all (so that every
consumer schedules every periodic task) and starts the consumers. No app imports it.
"""
