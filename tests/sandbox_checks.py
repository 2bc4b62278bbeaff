"""Independent checks that a sandbox left nothing behind (not using its own bookkeeping)."""

from __future__ import annotations

import os
from pathlib import Path


def processes_in_unnamed_namespaces() -> list[str]:
    """Processes in a network namespace that is neither the root one nor a named one.

    A namespace deleted while processes still ran inside it disappears from
    `ip netns list` but lives on with them: the signature of a leaky teardown.
    """
    root_ns = os.stat("/proc/self/ns/net").st_ino  # the tests run in the root namespace
    named = {entry.stat().st_ino for entry in Path("/run/netns").glob("*")}
    stray = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            ino = os.stat(proc / "ns" / "net").st_ino
            comm = (proc / "comm").read_text().strip()
        except OSError:
            continue
        if ino != root_ns and ino not in named:
            stray.append(f"{proc.name}({comm})")
    return stray


def names_path(cmdline: bytes, path: Path) -> bool:
    """Whether a NUL-separated command line names `path` or a path under it.

    A whole path, not a prefix: sandbox tshared1's state directory begins
    with tshared's.
    """
    needle = str(path).encode()
    return any(
        arg == needle or arg.endswith(b"=" + needle) or needle + b"/" in arg
        for arg in cmdline.split(b"\0")
    )


def processes_mentioning(path: Path) -> list[str]:
    """Processes whose command line names `path` or a path under it."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if names_path((proc / "cmdline").read_bytes(), path):
                found.append(proc.name)
        except OSError:
            continue
    return found
