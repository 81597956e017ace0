"""Plots: matplotlib figures that take and return Axes (matplotlib is imported inside the functions)."""
