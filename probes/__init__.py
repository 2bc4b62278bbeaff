"""Chaos Toolkit probes: read-only, they return values; the experiment's tolerance judges."""
