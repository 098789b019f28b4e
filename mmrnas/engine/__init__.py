"""mmrnas.engine."""
