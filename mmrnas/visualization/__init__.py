"""mmrnas.visualization."""
