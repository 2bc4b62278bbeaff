"""Configuration: which target and topology a run acts on, and the target files."""
