"""Pieces every `aftershock` subcommand shares: options, consoles, error handling."""

from __future__ import annotations

import os
import tempfile
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from aftershock.config.topology import Topology
from aftershock.errors import ComponentFailed, SandboxError
from aftershock.sandbox.state import require_up

NameOption = Annotated[
    str, typer.Option("--name", "-n", envvar="AFTERSHOCK_SANDBOX", help="Sandbox name (1-8 chars).")
]
TopologyOption = Annotated[
    str,
    typer.Option(
        "--topology",
        help="single-writer (one Patroni leader, the Aurora Global writer) or "
        "multi-writer (ADR-037: a primary per region, pglogical both ways).",
    ),
]
StateRootOption = Annotated[
    Path,
    typer.Option(
        "--state-root", envvar="AFTERSHOCK_STATE_ROOT", help="Where sandboxes keep their state."
    ),
]


def out() -> Console:
    # Piped output (CI logs, `| less`) gets a table wide enough not to wrap.
    console = Console(highlight=False)
    return console if console.is_terminal else Console(highlight=False, width=120)


def err() -> Console:
    # soft_wrap: an error stays one line, however narrow the terminal.
    return Console(stderr=True, highlight=False, soft_wrap=True)


@contextmanager
def operator_errors(interrupted: str = "stopped") -> Iterator[None]:
    """Turn expected failures into one clear line (plus a log tail) and exit 1."""
    try:
        yield
    except ComponentFailed as exc:
        err().print(f"[bold red]error:[/] {exc}")
        if exc.log_tail:
            err().print("--- log tail ---", style="dim")
            err().print(exc.log_tail, markup=False, style="dim")
        raise typer.Exit(1) from None
    except (SandboxError, ValueError) as exc:
        err().print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err().print(f"[bold yellow]interrupted:[/] {interrupted}")
        raise typer.Exit(130) from None
    except Exception as exc:  # noqa: BLE001 - a bug must still not greet the operator with a trace
        trace = save_traceback()
        err().print(
            f"[bold red]error:[/] unexpected {type(exc).__name__}: {exc} "
            f"(a bug in aftershock; traceback in {trace})"
        )
        raise typer.Exit(1) from None


def save_traceback() -> Path:
    """Write the current exception's traceback to a file and return its path."""
    fd, path = tempfile.mkstemp(prefix="aftershock-error-", suffix=".log")
    with os.fdopen(fd, "w") as out:
        traceback.print_exc(file=out)
    return Path(path)


def require_state(name: str, state_root: Path) -> Topology:
    """The sandbox `name`, or a clear error when it is not up."""
    return require_up(Topology(name, state_root))


def interrupt(signum: int, frame: object) -> None:
    """A SIGTERM handler: stop like Ctrl-C, so the same cleanup runs."""
    raise KeyboardInterrupt(f"signal {signum}")


class Interrupter:
    """A SIGTERM handler that also remembers it fired.

    The KeyboardInterrupt it raises lands wherever the main thread is; when
    that is a `__del__` or a garbage-collector callback, Python prints
    "Exception ignored" and carries on. A boot caught like that ran to the
    end and exited 0 (seen once under CI's contention), so the caller
    checks `fired` when the work is done and stops all the same.
    """

    def __init__(self) -> None:
        self.fired = False

    def __call__(self, signum: int, frame: object) -> None:
        self.fired = True
        raise KeyboardInterrupt(f"signal {signum}")
