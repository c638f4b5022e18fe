"""The published pre-commit hooks (.pre-commit-hooks.yaml), run by pre-commit itself on a real git repository.

A rules repository is made in a temporary folder (a spec from `ceruleng init`, a member log beside it, a CI file),
with a .pre-commit-config.yaml naming this repository's hooks, and `pre-commit run --all-files` runs them: clean,
then with an unformatted spec (ceruleng-fmt rewrites it and fails, the next run passes), a failing example
(ceruleng-test fails at its line) and a spec error (ceruleng-check fails with the diagnostic).

The hooks install with `language: python` (pre-commit builds a virtualenv and pip-installs ceruleng from the
hook repository), which needs the package index. So that the test runs offline, the hook repository it uses is a
git repository holding this repository's manifest with one change, `language: system` (and no
`additional_dependencies`, which system hooks do not take): the ceruleng installed for the test suite is used.
Everything else — ids, entries, arguments, file patterns, pass_filenames — is the published manifest's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).parent.parent
MANIFEST = ROOT / ".pre-commit-hooks.yaml"
BIN = Path(sys.executable).parent
HOOKS = ("ceruleng-check", "ceruleng-test", "ceruleng-fmt")


def _tool(name: str) -> str:
    found = shutil.which(name, path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if found is None:
        if os.environ.get("CERULENG_CI"):
            pytest.fail(f"{name} is needed by this test and .ci/run installs it")
        pytest.skip(f"{name} is not installed (CI installs it)")
    return found


@pytest.fixture(scope="module")
def environment(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    _tool("git")
    _tool("pre-commit")
    home = tmp_path_factory.mktemp("home")
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "HOME": str(home),
            "PRE_COMMIT_HOME": str(home / "pre-commit"), "CERULENG_CACHE_DIR": str(home / "ceruleng-cache"),
            "GIT_AUTHOR_NAME": "Policy Writer", "GIT_AUTHOR_EMAIL": "writer@example.org",
            "GIT_COMMITTER_NAME": "Policy Writer", "GIT_COMMITTER_EMAIL": "writer@example.org",
            "GIT_CONFIG_NOSYSTEM": "1", "PIP_NO_INDEX": "1"}


def run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=600)


def _git(cwd: Path, env: dict[str, str], *arguments: str) -> str:
    done = run(["git", *arguments], cwd, env)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def offline_manifest() -> list[dict[str, Any]]:
    hooks: list[dict[str, Any]] = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    for hook in hooks:
        hook["language"] = "system"
        hook.pop("additional_dependencies", None)
    return hooks


@pytest.fixture(scope="module")
def hook_repository(tmp_path_factory: pytest.TempPathFactory, environment: dict[str, str]) -> tuple[Path, str]:
    repository = tmp_path_factory.mktemp("hooks")
    (repository / ".pre-commit-hooks.yaml").write_text(yaml.safe_dump(offline_manifest(), sort_keys=False),
                                                       encoding="utf-8")
    _git(repository, environment, "init", "-q")
    _git(repository, environment, "add", ".")
    _git(repository, environment, "commit", "-q", "-m", "hooks")
    return repository, _git(repository, environment, "rev-parse", "HEAD")


@pytest.fixture
def rules_repository(tmp_path: Path, environment: dict[str, str], hook_repository: tuple[Path, str]) -> Path:
    repository = tmp_path / "rules-repo"
    repository.mkdir()
    done = run([str(BIN / "ceruleng"), "init", "acme"], repository, environment)
    assert done.returncode == 0, done.stderr
    shutil.copy(ROOT / "examples" / "pace-member.yaml", repository / "rules" / "member-log.yaml")
    (repository / "ci.yml").write_text("on: [push]\n", encoding="utf-8")
    hooks, revision = hook_repository
    config = {"repos": [{"repo": str(hooks), "rev": revision, "hooks": [{"id": hook} for hook in HOOKS]}]}
    (repository / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    _git(repository, environment, "init", "-q")
    _git(repository, environment, "add", ".")
    _git(repository, environment, "commit", "-q", "-m", "a rules repository")
    return repository


def pre_commit(repository: Path, environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run([_tool("pre-commit"), "run", "--all-files", "--color", "never"], repository, environment)


def _results(output: str) -> dict[str, str]:
    """Hook name → Passed / Failed, from pre-commit's summary lines (`ceruleng check....Passed`)."""
    found = {}
    for line in output.splitlines():
        for name in ("ceruleng check", "ceruleng test", "ceruleng fmt"):
            if line.startswith((name + ".", name + " ")):
                found[name] = line.rsplit(".", 1)[-1].strip().split()[-1]
    return found


def test_the_published_manifest_installs_with_python(environment: dict[str, str]) -> None:
    """What users get: pre-commit installs ceruleng (with ruamel.yaml for fmt); and pre-commit accepts it."""
    hooks = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert [hook["id"] for hook in hooks] == list(HOOKS)
    assert {hook["language"] for hook in hooks} == {"python"}
    assert next(h for h in hooks if h["id"] == "ceruleng-fmt")["additional_dependencies"] == ["ruamel.yaml>=0.18"]
    done = run([_tool("pre-commit"), "validate-manifest", str(MANIFEST)], ROOT, environment)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_clean_rules_repository_passes_every_hook(rules_repository: Path, environment: dict[str, str]) -> None:
    done = pre_commit(rules_repository, environment)
    assert done.returncode == 0, done.stdout + done.stderr
    assert _results(done.stdout) == {"ceruleng check": "Passed", "ceruleng test": "Passed", "ceruleng fmt": "Passed"}


def test_fmt_rewrites_an_unformatted_spec_and_the_next_run_passes(rules_repository: Path,
                                                                  environment: dict[str, str]) -> None:
    spec = rules_repository / "rules" / "acme.yaml"
    text = spec.read_text(encoding="utf-8")
    spec.write_text(text.replace("  full_hours: floor(minutes / 60)", '  full_hours: "floor( minutes/60 )"'),
                    encoding="utf-8")
    member_log = (rules_repository / "rules" / "member-log.yaml").read_bytes()
    first = pre_commit(rules_repository, environment)
    assert first.returncode == 1
    assert _results(first.stdout)["ceruleng fmt"] == "Failed"
    assert "files were modified by this hook" in first.stdout
    assert "reformatted rules/acme.yaml" in first.stdout
    assert spec.read_text(encoding="utf-8") == text
    assert (rules_repository / "rules" / "member-log.yaml").read_bytes() == member_log, "not a spec: untouched"
    second = pre_commit(rules_repository, environment)
    assert second.returncode == 0, second.stdout


def test_a_failing_example_fails_the_test_hook(rules_repository: Path, environment: dict[str, str]) -> None:
    spec = rules_repository / "rules" / "acme.yaml"
    text = spec.read_text(encoding="utf-8")
    spec.write_text(text.replace("expect: {category: course, status: awarded, credits: 0.1}",
                                 "expect: {category: course, status: awarded, credits: 0.2}"), encoding="utf-8")
    done = pre_commit(rules_repository, environment)
    assert done.returncode == 1
    results = _results(done.stdout)
    assert (results["ceruleng test"], results["ceruleng check"]) == ("Failed", "Passed")
    assert "rules/acme.yaml:" in done.stdout and "FAIL 'a 90-minute course earns 0.1': credits: expected 0.2, " \
                                                "got 0.1" in done.stdout


def test_a_spec_error_or_a_changed_source_text_fails_the_check_hook(rules_repository: Path,
                                                                    environment: dict[str, str]) -> None:
    source = rules_repository / "rules" / "sources" / "acme.txt"
    source.write_text(source.read_text(encoding="utf-8").replace("each full hour", "every hour"), encoding="utf-8")
    done = pre_commit(rules_repository, environment)
    assert done.returncode == 1
    assert _results(done.stdout)["ceruleng check"] == "Failed"
    assert "warning[source-quote-not-found]" in done.stdout
    spec = rules_repository / "rules" / "acme.yaml"
    spec.write_text(spec.read_text(encoding="utf-8").replace("credit: full_hours", "credit: full_hour"),
                    encoding="utf-8")
    broken = pre_commit(rules_repository, environment)
    assert "error[expr-unknown-name]: unknown name 'full_hour' (did you mean 'full_hours'?)" in broken.stdout


def test_try_repo_runs_one_hook_against_the_hook_repository(rules_repository: Path, environment: dict[str, str],
                                                            hook_repository: tuple[Path, str]) -> None:
    hooks, _ = hook_repository
    done = run([_tool("pre-commit"), "try-repo", str(hooks), "ceruleng-check", "--all-files", "--color", "never"],
               rules_repository, environment)
    assert done.returncode == 0, done.stdout + done.stderr
    assert _results(done.stdout) == {"ceruleng check": "Passed"}
