"""Helpers every room uses: config loading, atomic files and progress, logging, percentiles."""
