"""mmrnas.datasets."""
