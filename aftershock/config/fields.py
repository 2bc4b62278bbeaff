"""Reading one mapping of a YAML file, collecting a problem per bad field instead of stopping.

The target file's parser reads every section through `Fields`, so one run
names every missing or wrong field at once (`regions.tokyo.aws_region:
missing`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml


def read_yaml(path: Path, what: str, error: type[Exception]) -> Any:
    """The YAML document at `path`; `error` ("<what> <path>: ...") when unreadable or not YAML."""
    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(f"{what} {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise error(f"{what} {path}: not YAML{line}") from None


class Fields:
    """Reads one mapping of the file, collecting a problem per bad field instead of stopping."""

    def __init__(self, data: Any, where: str, problems: list[str]) -> None:
        self.where = where
        self.problems = problems
        self.data: dict[str, Any] = data if isinstance(data, dict) else {}
        if not isinstance(data, dict):
            self.problems.append(f"{where or 'the file'}: must be a mapping")

    def name(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def known(self, *keys: str) -> None:
        for key in self.data:
            if key not in keys:
                self.problems.append(f"{self.name(str(key))}: unknown field")

    def text(
        self,
        key: str,
        pattern: re.Pattern[str] | None = None,
        what: str = "",
        default: str | None = None,
    ) -> str:
        value = self.data.get(key, default)
        if value is None:
            self.problems.append(f"{self.name(key)}: missing")
            return ""
        if not isinstance(value, str):
            hint = " (quote it: YAML reads digits as a number)" if isinstance(value, int) else ""
            self.problems.append(f"{self.name(key)}: must be a string{hint}")
            return ""
        if pattern is not None and not pattern.match(value):
            self.problems.append(f"{self.name(key)}: {value!r} is not {what}")
            return ""
        return value

    def url(self, key: str) -> str:
        value = self.text(key)
        if value and not re.match(r"^https?://[^\s/]+", value):
            self.problems.append(f"{self.name(key)}: {value!r} is not an http(s) URL")
        return value.rstrip("/")

    def texts(
        self, key: str, pattern: re.Pattern[str], what: str, required: bool = True
    ) -> tuple[str, ...]:
        value = self.data.get(key)
        if value is None and not required:
            return ()
        if not isinstance(value, list) or not value:
            state = "missing" if value is None else "must be a non-empty list"
            self.problems.append(f"{self.name(key)}: {state}")
            return ()
        good = []
        for index, item in enumerate(value):
            if isinstance(item, str) and pattern.match(item):
                good.append(item)
            else:
                self.problems.append(f"{self.name(key)}[{index}]: {item!r} is not {what}")
        return tuple(good)

    def flag(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            self.problems.append(f"{self.name(key)}: must be true or false")
            return default
        return value

    def number(self, key: str, default: int) -> int:
        value = self.data.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            self.problems.append(f"{self.name(key)}: must be a whole number above 0")
            return default
        return value

    def section(self, key: str, required: bool = True) -> Fields | None:
        if key not in self.data:
            if required:
                self.problems.append(f"{self.name(key)}: missing")
            return None
        return Fields(self.data[key], self.name(key), self.problems)
