"""Evaluation and supervision: scoring schemes, yellow cards (issue 7)."""
