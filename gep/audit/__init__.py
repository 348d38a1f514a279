"""Audit: provenance and manifests, replay of recorded runs, reference cases."""
