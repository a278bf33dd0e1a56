"""Master patient index: ID-number rules, registration, merge, health card."""
