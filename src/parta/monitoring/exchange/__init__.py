"""History in and out of Parta in the JSON Lines exchange format (spec/activity-jsonl.md)."""
