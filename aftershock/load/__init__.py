"""Load: the operation history, the request timeline, task mix, schedules, Locust's runs."""
