"""The placeholders a service contract may use: what the sandbox provides a service.

A contract's `command`, `workdir` and `env` values are templates:
`{pg_dsn}` becomes the region's multi-host DSN when the sandbox starts the
service in that region. A name not listed here is a contract error, found
when the contract is loaded, never at boot.
"""

from __future__ import annotations

import string
from collections.abc import Mapping

PLACEHOLDERS: dict[str, str] = {
    "region": "the region this instance runs in (taiwan or tokyo)",
    "peer_region": "the other region",
    "listen_host": "the address to listen on (the region's address in its namespace)",
    "listen_port": "the port to listen on (8000); the edge sends the region's traffic there",
    "pg_dsn": "libpq conninfo listing every PostgreSQL node, the region's own first, "
    "target_session_attrs=read-write: the multi-host smart-routing DSN",
    "pg_read_dsn": "the same nodes, target_session_attrs=any: the nearest node, for reads",
    "pg_host": "one host that always reaches the current leader "
    "for drivers without multi-host support",
    "pg_port": "its port",
    "pg_jdbc_url": "jdbc:postgresql://{pg_host}:{pg_port}/{pg_database}",
    "pg_database": "the database the schema was applied to",
    "pg_user": "the service's PostgreSQL role (owner of that database)",
    "pg_password_file": "a file (0600, the service's user's) holding that role's password",
    "redis_host": "the region's Redis (the session and cart store)",
    "redis_port": "its port",
    "redis_password_file": "a file holding Redis' password",
    "catalog_host": "the region's copy of the global catalog cache (Redis protocol)",
    "catalog_port": "its port",
    "broker_url": "the region's NATS broker, with its credentials (nats://user:pass@host:port)",
    "service_dir": "the directory holding the contract file",
    "state_dir": "a directory of this instance's own, kept until `sandbox down`",
    "python": "the harness's Python interpreter",
}
"""Placeholder -> what the sandbox puts there; the docs' table is printed from this."""


class UnknownPlaceholder(ValueError):
    """A template names a placeholder the sandbox does not provide."""


def names_in(template: str) -> list[str]:
    """The placeholders `template` uses, in order; raises ValueError on a malformed brace."""
    return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]


def problems_of(template: str, where: str) -> list[str]:
    """One line per unknown placeholder or malformed brace in `template` (at field `where`)."""
    try:
        used = names_in(template)
    except ValueError as exc:
        return [f"{where}: {exc} in {template!r} (write a literal brace as {{{{ or }}}})"]
    problems = []
    for name in used:
        if name == "":
            problems.append(f"{where}: an empty placeholder {{}} in {template!r}")
        elif name not in PLACEHOLDERS:
            problems.append(
                f"{where}: unknown placeholder {{{name}}}; known: {', '.join(PLACEHOLDERS)}"
            )
    return problems


def render(template: str, values: Mapping[str, str]) -> str:
    """`template` with every placeholder replaced; raises UnknownPlaceholder for a missing one."""
    missing = [n for n in names_in(template) if n not in values]
    if missing:
        raise UnknownPlaceholder(f"no value for {{{missing[0]}}} in {template!r}")
    return template.format_map(dict(values))
