"""Plumbing with no domain words: database, errors, masking, spreadsheets, audit, clock."""
