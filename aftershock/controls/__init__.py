"""Chaos Toolkit controls: verdicts, the safeguard and the lag recorder."""
