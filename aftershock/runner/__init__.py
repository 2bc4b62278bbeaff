"""Running experiments: one Chaos Toolkit experiment and its journal, and the dry run."""
