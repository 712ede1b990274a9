"""Signals about people for apps that depend on accounts (accounts imports none of them)."""

from django.dispatch import Signal

# Sent inside the transaction that ends a person's last role in an organization, when the
# end takes effect now (not a planned end). Arguments: person, organization.
left_organization = Signal()
