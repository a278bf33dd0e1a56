"""Global-budget settlement of a medical community."""
