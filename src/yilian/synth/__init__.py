"""A synthetic county, built deterministically from a seed. Distributions: docs/synthetic-county.md."""
