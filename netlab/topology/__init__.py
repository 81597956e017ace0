"""topology layer (see DESIGN.md layers)."""
