"""Load schedules: how many users run at each moment of a load test.

Pure functions, so they can be tested without importing Locust (which
monkey-patches the process); `aftershock/recording/shapes.py` wraps them as Locust
`LoadTestShape` classes.
"""

from __future__ import annotations

import math

SCHEDULES = ("steady", "ramp", "diurnal", "spike")

# A compressed day: the quietest hour and the evening peak of an Asian
# e-commerce site, and how low the night goes relative to the peak.
DIURNAL_TROUGH_HOUR = 4.0
DIURNAL_PEAK_HOUR = 20.0
DIURNAL_FLOOR = 0.2
# A spike: a quarter of the peak, then everyone at once for the middle fifth.
SPIKE_BASE = 0.25
SPIKE_FROM, SPIKE_UNTIL = 0.4, 0.6


def users_at(schedule: str, elapsed: float, peak: int, duration: float) -> int | None:
    """Users wanted `elapsed` seconds into a run of `duration` seconds; None once it is over.

    - steady: `peak` all the time;
    - ramp: from 1 up to `peak`, linearly over the whole run (finds the knee);
    - diurnal: one day compressed into `duration`, night floor at 04:00,
      evening peak at 20:00;
    - spike: a quarter of `peak`, then `peak` for the middle fifth of the run.
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, not {schedule!r}")
    if peak < 1 or duration <= 0:
        raise ValueError("peak must be at least 1 user and duration positive")
    if elapsed >= duration:
        return None
    fraction = max(elapsed, 0.0) / duration
    if schedule == "steady":
        share = 1.0
    elif schedule == "ramp":
        share = fraction
    elif schedule == "diurnal":
        share = _diurnal_share(fraction * 24.0)
    else:
        share = 1.0 if SPIKE_FROM <= fraction < SPIKE_UNTIL else SPIKE_BASE
    return max(1, math.ceil(peak * share))


def spawn_rate_for(schedule: str, peak: int, spawn_rate: float) -> float:
    """A spike arrives at once: its users start within a second, whatever `spawn_rate` says."""
    return max(spawn_rate, float(peak)) if schedule == "spike" else spawn_rate


def _diurnal_share(hour: float) -> float:
    """Share of the peak at `hour` (0-24): a half-cosine up to the peak, another down."""
    rise = (DIURNAL_PEAK_HOUR - DIURNAL_TROUGH_HOUR) % 24.0
    since_trough = (hour - DIURNAL_TROUGH_HOUR) % 24.0
    going_up = since_trough <= rise
    x = since_trough / rise if going_up else 1.0 - (since_trough - rise) / (24.0 - rise)
    return DIURNAL_FLOOR + (1.0 - DIURNAL_FLOOR) * (1.0 - math.cos(math.pi * x)) / 2.0
