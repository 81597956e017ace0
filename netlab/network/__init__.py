"""network layer (see DESIGN.md layers)."""
