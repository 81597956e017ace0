"""workload layer (see DESIGN.md layers)."""
