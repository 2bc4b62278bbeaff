"""The calls a remote driver makes, recorded the same way whether performed or only planned.

Every AWS and Kubernetes request the `aws` and `k8s` drivers make passes
through a caller that appends a `Call` here first: a fault's result (and
so the journal) lists exactly what was done, and a dry run prints exactly
what would be. No parameter is ever a secret (credentials come from boto3's
chain and kubeconfig, never from the target file), so nothing is redacted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aftershock.errors import SandboxError


class Refused(SandboxError):
    """A safety check refused to act: nothing was called."""


@dataclass(frozen=True)
class Call:
    """One request: `api` is an AWS service, `k8s` or `http`; `where` a region or context."""

    api: str
    where: str
    operation: str
    params: dict[str, Any]
    mutating: bool = False
    via: str = ""  # the chaostoolkit-aws / -kubernetes function that makes it, if any

    def line(self) -> str:
        """The call as one line: `rds.failover_global_cluster(...) [ap-northeast-1]`."""
        if self.api == "note":
            return f"-- {self.operation}"
        args = ", ".join(f"{k}={_show(v)}" for k, v in self.params.items())
        mark = "  (changes state)" if self.mutating else ""
        via = f"  via {self.via}" if self.via else ""
        return f"{self.api}.{self.operation}({args}) [{self.where}]{via}{mark}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe, for a fault's result and so the experiment's journal."""
        return json.loads(
            json.dumps(
                {
                    "api": self.api,
                    "where": self.where,
                    "operation": self.operation,
                    "params": self.params,
                    "mutating": self.mutating,
                    "via": self.via,
                },
                default=str,
            )
        )


def _show(value: Any) -> str:
    return json.dumps(value, default=str, sort_keys=False)


@dataclass
class CallLog:
    """Every call of one fault or probe, in order; shared by the AWS and Kubernetes callers."""

    calls: list[Call] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, call: Call) -> None:
        self.calls.append(call)

    def note(self, text: str) -> None:
        """Something the plan must say that is not a call (a wait, an assumption)."""
        self.notes.append(text)
        self.calls.append(Call("note", "-", text, {}))

    def since(self, mark: int) -> list[Call]:
        return self.calls[mark:]

    def mutating(self) -> list[Call]:
        return [c for c in self.calls if c.mutating]
