"""Errors the CLI turns into one clear line and a non-zero exit."""

from __future__ import annotations


class SandboxError(RuntimeError):
    """Something the operator can fix; the message says what and how."""


class PreflightError(SandboxError):
    """The machine cannot run a sandbox yet (privileges, packages)."""


class ComponentFailed(SandboxError):
    """A daemon exited or never became ready; carries its log tail."""

    def __init__(self, component: str, reason: str, log_tail: str = "") -> None:
        self.component = component
        self.reason = reason
        self.log_tail = log_tail
        super().__init__(f"{component}: {reason}")


class EvidenceMissing(SandboxError):
    """The evidence a probe needs is not on disk (no load ran, no fault was injected)."""
