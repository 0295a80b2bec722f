"""gold layer."""
