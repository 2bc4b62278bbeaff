"""`--notify URL`: the run's summary.md posted as a Slack-compatible message.

Slack's incoming webhooks (and Mattermost's, Teams' Slack-compatible ones)
take `{"text": ...}` with Markdown; the summary is sent as it is written.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from aftershock.errors import SandboxError

MAX_TEXT = 35_000  # Slack truncates a message's text beyond about 40,000 characters


class NotifyFailed(SandboxError):
    """The webhook did not take the message."""


def check_url(url: str) -> str:
    """`url` if it is an http(s) URL, else a one-line error."""
    if not url.startswith(("http://", "https://")):
        raise SandboxError(f"--notify {url!r}: expected an http(s) webhook URL")
    return url


def post(url: str, markdown: str, timeout: float = 10.0) -> int:
    """POST the summary to the webhook; the HTTP status, or NotifyFailed saying why."""
    text = markdown if len(markdown) <= MAX_TEXT else markdown[:MAX_TEXT] + "\n…(truncated)"
    request = urllib.request.Request(  # noqa: S310 - the operator's own webhook URL
        check_url(url),
        data=json.dumps({"text": text}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        raise NotifyFailed(f"the webhook answered {exc.code}: {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise NotifyFailed(f"the webhook could not be reached: {exc}") from None
