"""Web layer: dependencies, templates, static assets, page routes."""
