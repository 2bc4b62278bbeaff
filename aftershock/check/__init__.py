"""The check side: pure checkers and traffic figures, the evidence on disk, and the final reads."""
