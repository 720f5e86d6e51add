"""Model zoo (aliases, offline pulls) and classifiers (backbone + head, pooling by architecture)."""
