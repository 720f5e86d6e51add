"""Training: pure losses, the one loop, and learners that fit/predict a model on items (texts or comparisons)."""
