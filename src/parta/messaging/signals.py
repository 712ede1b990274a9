"""Signals other apps may listen to without messaging knowing them (arrows point one way)."""

from django.dispatch import Signal

# Sent inside the writing transaction with `messages`: a list of Message rows just
# stored (organization_id, author_id, written_at, is_service are read), and `zones`:
# {organization_id: ZoneInfo} when the writer has them at hand, else None.
messages_written = Signal()
