"""Package data: trust anchors and other files that are not code."""
