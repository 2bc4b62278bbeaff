"""The `aftershock` command line."""
