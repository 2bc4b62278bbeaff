"""The shopper's task mix and think time, as the operator writes them.

Parsed here, without Locust, so `aftershock load` rejects a bad value in
one line before anything starts, and the locustfile reads the same values
the same way.
"""

from __future__ import annotations

TASKS = ("list", "product", "cart", "checkout", "profile")
DEFAULT_WEIGHTS = "list=30,product=42,cart=15,checkout=10,profile=3"
DEFAULT_THINK_TIME = "1,3"


def weights(text: str) -> dict[str, int]:
    """`list=30,product=45,cart=15,checkout=10` -> {task: weight}; missing tasks weigh 0."""
    parsed = dict.fromkeys(TASKS, 0)
    for part in text.split(","):
        name, _, number = part.partition("=")
        if name.strip() not in parsed or not number.strip().isdigit():
            raise ValueError(f"--task-weights: expected e.g. {DEFAULT_WEIGHTS}, got {text!r}")
        parsed[name.strip()] = int(number)
    if not any(parsed.values()):
        raise ValueError("--task-weights: at least one task needs a weight above 0")
    return parsed


def think_time(text: str) -> tuple[float, float]:
    """`min,max` seconds between a shopper's tasks (`2` alone means 2,2)."""
    low, _, high = text.partition(",")
    try:
        bounds = float(low), float(high or low)
    except ValueError:
        raise ValueError(f"--think-time: expected min,max seconds, got {text!r}") from None
    if not 0 <= bounds[0] <= bounds[1]:
        raise ValueError(f"--think-time: need 0 <= min <= max, got {text!r}")
    return bounds
