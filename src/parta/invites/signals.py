"""Signals about joining for apps above invites (invites imports none of them)."""

from django.dispatch import Signal

# Sent inside the transaction that admitted `person` to `organization` with `role` — by a
# link, an approved request or an admin adding the role by hand — once the student's class
# or the parent's child is recorded too. Arguments: person, organization, role, approved
# (True when an admin approved a join request). messaging welcomes the person on it.
admitted = Signal()

# Sent inside the transaction that rejected a join request. Argument: join_request (with
# its reason). notifications tells the person by push; «Мои заявки» shows it too.
rejected = Signal()
