"""Yilian (医联): one platform for an integrated county medical community or urban medical group."""

__version__ = "0.1.0"
