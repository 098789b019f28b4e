"""mmrnas.search."""
