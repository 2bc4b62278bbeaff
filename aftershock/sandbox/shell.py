"""Running system commands with errors an operator can act on."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from aftershock.errors import SandboxError


class CommandFailed(SandboxError):
    """A system command exited non-zero; the message carries its stderr."""

    def __init__(self, argv: Sequence[str], returncode: int, stderr: str) -> None:
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr = stderr.strip()
        super().__init__(f"`{' '.join(argv)}` exited {returncode}: {self.stderr or '(no output)'}")


def run(
    argv: Sequence[str], check: bool = True, timeout: float = 30.0, stdin: str | None = None
) -> str:
    """Run `argv` (feeding it `stdin`), return its stdout; raise `CommandFailed` on failure."""
    try:
        done = subprocess.run(
            list(argv),
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as exc:
        raise CommandFailed(argv, 127, f"{argv[0]} is not installed") from exc
    except subprocess.TimeoutExpired as exc:
        raise CommandFailed(argv, -1, f"no answer after {timeout:.0f} s") from exc
    if check and done.returncode != 0:
        raise CommandFailed(argv, done.returncode, done.stderr)
    return done.stdout
