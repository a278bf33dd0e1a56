"""Indicators as data: a catalogue compiled to one portable SQL layer (SQLGlot) run on DuckDB or Spark."""
