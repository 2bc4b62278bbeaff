"""Locust load shapes: steady, ramp, diurnal (a compressed day), spike.

Select one with `--shape NAME`; the peak is `-u`, the length `-t` (10 min
when none is given) and the ramp speed `-r`, as for a run without a shape.
The schedules themselves live in `aftershock.load.schedules` (pure, tested).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from locust import LoadTestShape

from aftershock.load import schedules

DEFAULT_DURATION = 600.0


class ScheduledShape(LoadTestShape):
    """Follows `aftershock.load.schedules.users_at(schedule, ...)`."""

    abstract = True
    use_common_options = True
    schedule = "steady"

    def tick(self) -> tuple[int, float] | None:
        options = self.runner.environment.parsed_options
        peak = int(options.num_users or 1)
        duration = float(options.run_time or DEFAULT_DURATION)
        users = schedules.users_at(self.schedule, self.get_run_time(), peak, duration)
        if users is None:
            return None
        return users, schedules.spawn_rate_for(self.schedule, peak, float(options.spawn_rate or 1))


class SteadyShape(ScheduledShape):
    abstract = False
    schedule = "steady"


class RampShape(ScheduledShape):
    abstract = False
    schedule = "ramp"


class DiurnalShape(ScheduledShape):
    abstract = False
    schedule = "diurnal"


class SpikeShape(ScheduledShape):
    abstract = False
    schedule = "spike"


SHAPES: dict[str, type[ScheduledShape]] = {
    shape.schedule: shape for shape in (SteadyShape, RampShape, DiurnalShape, SpikeShape)
}


def requested(argv: Sequence[str], environ: Mapping[str, str]) -> type[ScheduledShape] | None:
    """The shape named by `--shape` (or LOCUST_SHAPE), read before Locust parses options.

    Locust picks shape classes when it imports the locustfile, before custom
    options exist, so the locustfile asks here which one to expose. An
    unknown name returns None; Locust's own parser then rejects it.
    """
    name = environ.get("LOCUST_SHAPE", "")
    for index, arg in enumerate(argv):
        if arg == "--shape" and index + 1 < len(argv):
            name = argv[index + 1]
        elif arg.startswith("--shape="):
            name = arg.split("=", 1)[1]
    return SHAPES.get(name)
