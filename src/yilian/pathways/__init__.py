"""Journeys that span domains (decision 0030)."""
