"""Starting huey consumers with every app's tasks registered.

The queue is configured in settings.HUEY: a SQLite file under PARTA_DATA_DIR in the
embedded default, Redis when REDIS_URL is set. The schedule, from the apps' jobs.py:
weekly digests checked every hour (monitoring), the sweep of silent call participations
every minute (calls), the chats' unread emails every five minutes (notifications); daily,
the live event log pruned (realtime) and the uploads never sent discarded (messaging).
"""

import signal

from huey.consumer import Consumer
from huey.contrib.djhuey import HUEY

# Imported for their tasks, which register themselves with the queue when imported.
from parta.calls import jobs as calls_jobs  # noqa: F401
from parta.invites import jobs as invites_jobs  # noqa: F401
from parta.messaging import jobs as messaging_jobs  # noqa: F401
from parta.monitoring import jobs as monitoring_jobs
from parta.notifications import jobs as notifications_jobs  # noqa: F401
from parta.realtime import jobs as realtime_jobs  # noqa: F401

# Locks that a run which died with its process may have left: cleared when a consumer starts.
LOCKS = monitoring_jobs.DIGESTS_LOCK


def start_consumer(workers: int) -> Consumer:
    """Consumer threads inside the calling process (`parta serve`), scheduler included.

    The process's signals stay with their owner (uvicorn): the threads are daemons and
    end with the process; the caller stops them after the server returns.
    """
    consumer = HUEY.create_consumer(
        workers=workers,
        worker_type="thread",
        periodic=True,
        extra_locks=LOCKS,
        shutdown_timeout=30,
    )
    kept = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    consumer.start()
    for sig, handler in kept.items():
        signal.signal(sig, handler)
    return consumer
