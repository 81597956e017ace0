"""experiment layer (see DESIGN.md layers)."""
