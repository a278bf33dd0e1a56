"""CHS-DRG grouping: the scheme is data the user points at."""
