"""Signals about people for apps that depend on accounts (accounts imports none of them)."""

from django.dispatch import Signal

# Sent inside the transaction that ends a person's last role in an organization, when the
# end takes effect now (not a planned end). Arguments: person, organization.
left_organization = Signal()

# Sent inside the transaction that moves a student from one class to another (a move, not a
# first enrolment). Arguments: student, old_class, new_class, at. messaging moves the chats.
class_moved = Signal()

# Sent inside the transaction that merged a roster record that never signed in into the
# account of the same person (merge_roster_record), after its roles, links and class moved
# and it was deactivated. Arguments: record, into, at. messaging moves the record's chats.
person_merged = Signal()
