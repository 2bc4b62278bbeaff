"""The refusals that keep a game day from doing damage nobody asked for.

Checked by `aftershock gameday` before pytest starts and again by the
driver before it acts (defence in depth: a plain `chaos run` or a probe
reaches the driver without the command line):

1. static, before any request: the target file's `account_id` is in its
   `allowlist.account_ids`, every region it names is in `allowlist.regions`,
   every kube context in `allowlist.kube_contexts`;
2. the run said `--allow-destructive` (configuration
   `aftershock_allow_destructive: true`) before anything that changes state;
3. boto3's chain finds credentials at all (no request: a missing profile or
   an empty environment is refused on the spot);
4. before the first request that changes anything, STS GetCallerIdentity
   (a read) says the credentials belong to `account_id`.

Each refusal is one line (`Refused`) and means no request was made.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aftershock.config.target_file import TargetFile
from aftershock.targets.plan import Refused

ALLOW_KEY = "aftershock_allow_destructive"


def check_allowlist(target: TargetFile) -> None:
    """Refuse a target file whose account, regions or contexts it does not itself allowlist."""
    if target.account_id not in target.allowed_accounts:
        raise Refused(
            f"refused: account {target.account_id} is not in {target.path}'s "
            f"allowlist.account_ids ({', '.join(target.allowed_accounts) or 'empty'})"
        )
    for region in target.regions.values():
        if region.aws_region not in target.allowed_regions:
            raise Refused(
                f"refused: region {region.aws_region} ({region.name}) is not in "
                f"{target.path}'s allowlist.regions ({', '.join(target.allowed_regions)})"
            )
        if region.eks and region.eks.context not in target.allowed_contexts:
            raise Refused(
                f"refused: kube context {region.eks.context} ({region.name}) is not in "
                f"{target.path}'s allowlist.kube_contexts"
            )


def allows_destructive(configuration: dict[str, Any] | None) -> bool:
    """Whether the run said `--allow-destructive` (a real boolean, or the string "true")."""
    value = (configuration or {}).get(ALLOW_KEY, False)
    return value is True or str(value).lower() == "true"


def require_destructive(configuration: dict[str, Any] | None, target: str) -> None:
    if not allows_destructive(configuration):
        raise Refused(
            f"refused: target {target} changes a real environment; the run must pass "
            "--allow-destructive (or --dry-run to print the plan)"
        )


def credentials_found(profile: str) -> bool:
    """Whether boto3's chain finds credentials; resolves locally, sends no request.

    (The chain's instance-metadata step does talk to the link-local metadata
    service; tests disable it with AWS_EC2_METADATA_DISABLED=true.)
    """
    import boto3
    from botocore.exceptions import BotoCoreError

    try:
        session = boto3.session.Session(profile_name=profile or None)
        return session.get_credentials() is not None
    except BotoCoreError:
        return False


def require_credentials(
    target: TargetFile, found: Callable[[str], bool] = credentials_found
) -> None:
    if not found(target.aws_profile):
        source = f"profile {target.aws_profile}" if target.aws_profile else "the environment"
        raise Refused(
            f"refused: boto3 finds no AWS credentials ({source}, shared files, instance role); "
            "log in (aws sso login / AWS_PROFILE) and run again"
        )


def identity_guard(
    target: TargetFile, configuration: dict[str, Any] | None, sts: Callable[[], Any]
) -> Callable[[], None]:
    """The check run once before the first state-changing request of a fault.

    `sts()` gives an STS client; its GetCallerIdentity must name the target
    file's account, or nothing is changed.
    """
    checked: list[str] = []

    def guard() -> None:
        require_destructive(configuration, "aws")
        if checked:
            return
        account = str(sts().get_caller_identity()["Account"])
        if account != target.account_id:
            raise Refused(
                f"refused: the credentials belong to account {account}, but {target.path} "
                f"targets {target.account_id}; nothing was changed"
            )
        checked.append(account)

    return guard
