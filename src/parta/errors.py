"""Refusals that services raise and every front end (API, pages) understands."""

from django.core.exceptions import ValidationError


class Conflict(ValidationError):
    """The request clashes with what is already stored (an idempotency key reused for a
    different message): the API answers 409, a page shows the message like any refusal."""
