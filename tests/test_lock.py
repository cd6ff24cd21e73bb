"""The committed lock (.ci/requirements-lock.txt) agrees with pyproject.toml: every requirement
of the package and of its test extra is pinned, at a version its range allows."""

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / ".ci" / "requirements-lock.txt"
pytestmark = pytest.mark.skipif(not LOCK.is_file(), reason="not a source checkout")


def _pins():
    pins = {}
    for line in LOCK.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
        if match:
            pins[canonicalize_name(match[1])] = match[2]
    return pins


def _requirements():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    return [Requirement(r) for r in project["dependencies"] + extras["test"]], extras


def test_lock_pins_every_requirement_within_its_range():
    pins = _pins()
    requirements, _ = _requirements()
    for req in requirements:
        name = canonicalize_name(req.name)
        if name == "torch":  # installed first, as torch==2.13.0 (the CPU build), not locked
            assert req.specifier.contains("2.13.0")
            continue
        assert name in pins, f"{req.name} is not in the lock; run: bash .ci/lock"
        assert req.specifier.contains(pins[name], prereleases=True), \
            f"{req.name}=={pins[name]} in the lock is outside {req}; run: bash .ci/lock"


def test_extras_do_not_reference_the_package():
    _, extras = _requirements()
    for name, reqs in extras.items():
        assert not any(canonicalize_name(Requirement(r).name) == "napari-mend" for r in reqs), name


def test_lock_holds_no_torch_and_made_by_the_lock_script():
    text = LOCK.read_text()
    assert "bash .ci/lock" in text.splitlines()[1]
    assert "torch" not in _pins()
    assert not any(name.startswith("nvidia-") for name in _pins())


def _readme_commands():
    return re.findall(r"```bash\n(.+?)\n```", (ROOT / "README.md").read_text(), re.S)


def test_readme_and_ci_install_through_the_lock():
    first, second = _readme_commands()[:2]
    for command in (first, second):
        assert "-c .ci/requirements-lock.txt" in command
        assert "pip install torch==2.13.0 &&" in command
        assert "sudo" not in command
    assert second in (ROOT / ".ci" / "run").read_text().splitlines()  # word for word
