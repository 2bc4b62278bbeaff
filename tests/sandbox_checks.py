"""Independent checks that a sandbox left nothing behind (not using its own bookkeeping)."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

from aftershock.config.topology import SUBNET_PREFIX, Topology


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


def free_sandbox_name(prefix: str, taken: set[int] | None = None) -> str:
    """A random sandbox name whose subnet no sandbox on the machine uses now.

    Names map onto 240 subnets, so two random names collide often enough
    to fail a CI run (`up` refuses a subnet in use). `taken` holds subnets
    handed out already by this caller; the chosen one is added to it.
    """
    in_use = set(taken or set())
    shown = subprocess.run(["ip", "-json", "-4", "addr", "show"], capture_output=True, text=True)
    for link in json.loads(shown.stdout or "[]"):
        for info in link.get("addr_info", []):
            octets = info.get("local", "").split(".")
            if ".".join(octets[:2]) == SUBNET_PREFIX and len(octets) == 4:
                in_use.add(int(octets[2]))
    in_use |= {Topology(n).subnet_index for n in ("tshared", "tshared1")}  # booting, maybe
    for _ in range(1000):
        name = f"{prefix}{uuid.uuid4().hex[:5]}"
        if Topology(name).subnet_index not in in_use:
            if taken is not None:
                taken.add(Topology(name).subnet_index)
            return name
    raise AssertionError("no free sandbox subnet: reap the sandboxes left behind")
