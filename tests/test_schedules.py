"""Load schedules: the user counts each shape asks for over a run."""

from __future__ import annotations

import pytest

from aftershock.load.schedules import SCHEDULES, spawn_rate_for, users_at


def curve(schedule: str, peak: int = 100, duration: float = 100.0) -> list[int]:
    return [users_at(schedule, t, peak, duration) or 0 for t in range(int(duration))]


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_every_schedule_ends_at_its_duration_and_never_exceeds_the_peak(schedule: str) -> None:
    assert users_at(schedule, 100.0, 100, 100.0) is None
    assert all(1 <= users <= 100 for users in curve(schedule))


def test_steady_holds_the_peak() -> None:
    assert set(curve("steady")) == {100}


def test_ramp_climbs_steadily_to_the_peak() -> None:
    users = curve("ramp")
    assert users == sorted(users)
    assert users[0] == 1
    assert users[-1] == 99


def test_diurnal_has_a_night_floor_and_an_evening_peak() -> None:
    users = curve("diurnal", duration=96.0)  # 4 s of run per hour of day
    assert min(users) == 20 == users[16]  # 04:00
    assert max(users) == 100 == users[80]  # 20:00
    assert users[16:81] == sorted(users[16:81])


def test_spike_jumps_for_the_middle_fifth_only() -> None:
    users = curve("spike")
    assert set(users[:40]) == {25}
    assert set(users[40:60]) == {100}
    assert set(users[60:]) == {25}
    assert spawn_rate_for("spike", 100, 5.0) == 100.0
    assert spawn_rate_for("ramp", 100, 5.0) == 5.0


def test_unknown_schedule_and_bad_bounds_are_refused() -> None:
    with pytest.raises(ValueError, match="schedule must be one of"):
        users_at("tsunami", 0, 10, 10)
    with pytest.raises(ValueError, match="peak"):
        users_at("steady", 0, 0, 10)
