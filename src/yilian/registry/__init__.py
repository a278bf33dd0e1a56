"""Institutions, consortia, grids, staff and postings."""
