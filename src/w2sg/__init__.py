"""w2sg: weak-to-strong generalization experiments with real models, real data and PGR with uncertainty."""

__version__ = "0.1.0"
