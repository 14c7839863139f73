"""What-if studies: scenarios, grids and frontiers on one fitted, built optimizer."""
