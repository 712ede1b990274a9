"""History in and out of Parta in the JSON Lines exchange format (docs/exchange-format.md).

An app of its own because it writes every app's records in bulk (people, roles, classes,
conversations, messages, calls, and monitoring's weekly tallies); no app imports it.
"""
