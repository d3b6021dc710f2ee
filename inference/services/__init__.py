"""Inference workflows, by what they serve: predictions (the click), loading, downloads,
automask."""
