"""Tiny HTTP GET used by readiness checks and status: stdlib only, short timeouts."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


def get(url: str, timeout: float = 1.0) -> tuple[int, Any] | None:
    """GET `url`; return (status, parsed JSON or text), or None when unreachable."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 (http only)
            return resp.status, _decode(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, _decode(err.read())
    except (OSError, ValueError):
        return None


def _decode(body: bytes) -> Any:
    text = body.decode(errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text
