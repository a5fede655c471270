"""Face-engine evaluation (issue #3): protocols, open-set metrics, an embedding cache and the runner."""
