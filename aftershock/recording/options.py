"""The command-line options every recording locustfile takes, and how they are read.

The harness starts Locust with these (`aftershock.load.runner.LoadSettings`),
whichever service's locustfile it runs, so they are part of the recording
API: a locustfile gets them by importing `aftershock.recording`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from aftershock.load.task_mix import DEFAULT_THINK_TIME, DEFAULT_WEIGHTS
from aftershock.recording.shapes import SHAPES

SERVING_HEADER = "X-Served-By"
"""The default header naming the region that served an answer (`--serving-header`)."""

T = TypeVar("T")


def add_options(parser: Any) -> None:
    """Locust's `init_command_line_parser` listener: the harness's options."""
    group = parser.add_argument_group("aftershock")
    group.add_argument("--run-dir", default="", help="Write history.jsonl and timeline.jsonl here")
    group.add_argument(
        "--shape",
        default="none",
        choices=["none", *SHAPES],
        help="Load shape; -u is the peak, -t the length",
    )
    group.add_argument(
        "--task-weights", default=DEFAULT_WEIGHTS, help=f"Task mix, e.g. {DEFAULT_WEIGHTS}"
    )
    group.add_argument(
        "--think-time", default=DEFAULT_THINK_TIME, help="Seconds between tasks: min,max"
    )
    group.add_argument("--products", type=int, default=1000, help="Catalog size (ids 1..N)")
    group.add_argument(
        "--checkout-attempts",
        type=int,
        default=4,
        help="Attempts per idempotent write, the same key each time",
    )
    group.add_argument(
        "--request-timeout",
        type=float,
        default=5.0,
        help="Seconds before a request counts as timed out",
    )
    group.add_argument("--run-id", default="", help="Prefix of every order key (default: random)")
    group.add_argument(
        "--customers",
        type=int,
        default=20,
        help="Registers the users share (both geos write them: concurrent writes)",
    )
    group.add_argument(
        "--serving-header",
        default=SERVING_HEADER,
        help="Header naming the region that served an answer; empty: the service names none",
    )
    group.add_argument(
        "--resubmit-share",
        type=float,
        default=0.1,
        help="Share of acknowledged writes sent again, same key, through the other region",
    )


def parsed(parse: Callable[[str], T], text: str) -> T:
    """A task_mix parser whose ValueError ends the Locust run with its one-line message."""
    try:
        return parse(text)
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
