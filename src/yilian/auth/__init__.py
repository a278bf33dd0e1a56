"""Users, roles, the acting subject, and scoping of readable rows."""
