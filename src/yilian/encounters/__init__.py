"""Outpatient and inpatient encounters."""
