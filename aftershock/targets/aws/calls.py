"""Every AWS request of the `aws` driver, performed or (in a dry run) only planned.

`AwsCaller.call` refuses a region the target file does not allowlist before
anything is sent, runs the safety guard (the run's `--allow-destructive`,
the credentials' account) before the first request that changes anything,
logs the call, then either answers from the dry run's simulated platform or
makes it: through the chaostoolkit-aws function named in `via` where that
function is correct, else on a boto3 client from the client factory.

Clients come from `chaosaws.aws_client` (boto3's normal chain: a profile,
the environment, an instance role): the same construction chaostoolkit-aws
uses inside its own functions, so a direct call and a chaosaws call run
as the same principal. Tests pass a factory of Stubber-wrapped clients.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from aftershock.targets.plan import Call, CallLog, Refused

ClientFactory = Callable[[str, str], Any]  # (service, region) -> a boto3 client


def chaosaws_factory(profile: str) -> ClientFactory:
    """Clients built the way chaostoolkit-aws builds them, for `profile` (or the default chain)."""

    def make(service: str, region: str) -> Any:
        from chaosaws import aws_client

        return aws_client(service, chaosaws_configuration(region, profile), None)

    return make


def chaosaws_configuration(region: str, profile: str) -> dict[str, Any]:
    """The configuration chaostoolkit-aws reads: the region, and the profile when one is named."""
    configuration: dict[str, Any] = {"aws_region": region}
    if profile:
        configuration["aws_profile_name"] = profile
    return configuration


class AwsCaller:
    """Makes, or in a dry run records and simulates, the driver's AWS requests."""

    def __init__(
        self,
        log: CallLog,
        allowed_regions: tuple[str, ...],
        factory: ClientFactory | None = None,
        guard: Callable[[], None] | None = None,
        world: Any = None,
        profile: str = "",
    ) -> None:
        self.log = log
        self.allowed_regions = allowed_regions
        self.factory = factory
        self.guard = guard
        self.world = world  # aftershock.targets.aws.world.World in a dry run
        self.profile = profile
        self.clients: dict[tuple[str, str], Any] = {}

    @property
    def dry_run(self) -> bool:
        return self.world is not None

    def call(
        self,
        service: str,
        region: str,
        operation: str,
        params: dict[str, Any],
        mutating: bool = False,
        via: tuple[str, dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """One AWS request; `via` is (chaosaws function, its arguments) when chaosaws makes it."""
        if region not in self.allowed_regions:
            raise Refused(
                f"refused: region {region} is not in the target file's allowlist.regions "
                f"({', '.join(self.allowed_regions)}); {service}.{operation} was not called"
            )
        if mutating and self.guard is not None and not self.dry_run:
            self.guard()
        self.log.add(Call(service, region, operation, params, mutating, via[0] if via else ""))
        if self.world is not None:
            return self.world.respond(service, region, operation, params)
        if via is not None:
            module, _, name = via[0].rpartition(".")
            function = getattr(importlib.import_module(module), name)
            configuration = chaosaws_configuration(region, self.profile)
            return function(**via[1], configuration=configuration, secrets=None) or {}
        return getattr(self.client(service, region), operation)(**params)

    def client(self, service: str, region: str) -> Any:
        if self.factory is None:
            raise Refused(f"no AWS client factory: {service} in {region} cannot be called")
        key = (service, region)
        if key not in self.clients:
            self.clients[key] = self.factory(service, region)
        return self.clients[key]
