"""routing layer (see DESIGN.md layers)."""
