"""mmrnas.models."""
