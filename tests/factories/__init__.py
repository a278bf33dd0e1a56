"""Small typed factories per domain: create_x(session, *, field=…) with sensible defaults."""
