"""Installing dual_log from a checkout, as the README and the samples do, into fresh venvs.

Each venv is made without pip (``python -m venv --without-pip``) and filled by the pip of
the test run (``pip --python``), which saves creating pip in each; dependencies come from
the package index or pip's cache, as for a user.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import tarfile
import zipfile
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

import pytest

from tests.conftest import ROOT
from tests.test_demo import check_demo_output, run_demo
from tests.test_dockerfiles import SAMPLES, in_checkout, instructions

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.e2e

PIP_SECONDS = 300
# What each sample imports, to check its install step installed it.
IMPORTS = {
    "django_app": "import dual_log.django, django, gunicorn",
    "flask_app": "import dual_log.flask, flask, gunicorn",
    "plain_worker": "import dual_log",
    "log_capture": "import dual_log.capture, msgspec",
}


def fresh_venv(folder: Path) -> str:
    """A new virtual environment without pip; return its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    return str(folder / "bin" / "python")


def pip(python: str, *args: str, cwd: Path = ROOT) -> None:
    """Run this test run's pip on the venv of ``python``; fail with pip's output."""
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--python", python, "--disable-pip-version-check", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=PIP_SECONDS,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def installed_from(python: str, module: str) -> str:
    """Where ``module`` is imported from in the venv of ``python``, outside the checkout."""
    done = subprocess.run(
        [python, "-c", f"import {module}; print({module}.__file__)"],
        cwd="/",
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_the_wheel_installs_into_a_fresh_venv_and_runs_the_demo(tmp_path: Path) -> None:
    """``pip wheel --no-deps . -w DIR`` builds a wheel that installs, imports and runs the demo."""
    dist = tmp_path / "dist"
    python = fresh_venv(tmp_path / "venv")
    pip(python, "wheel", "--no-deps", ".", "-w", str(dist))
    (wheel,) = dist.glob("dual_log_handler-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "dual_log/__init__.py" in names
    assert "dual_log/py.typed" in names
    assert all(n.startswith(("dual_log/", "dual_log_handler-")) for n in names), names
    (licence,) = [n for n in names if n.endswith("/LICENSE")]
    assert "MIT License" in zipfile.ZipFile(wheel).read(licence).decode()

    pip(python, "install", str(wheel))
    assert installed_from(python, "dual_log").startswith(str(tmp_path / "venv"))
    folder = tmp_path / "demo-logs"
    check_demo_output(run_demo(python, folder), folder)


def test_the_sdist_carries_the_licence(tmp_path: Path) -> None:
    """The source distribution has the MIT licence pyproject.toml names."""
    done = subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--outdir", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=PIP_SECONDS, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    (sdist,) = tmp_path.glob("dual_log_handler-*.tar.gz")
    with tarfile.open(sdist) as archive:
        (licence,) = [m for m in archive.getmembers() if m.name.endswith("/LICENSE")]
        text = archive.extractfile(licence).read().decode()  # type: ignore[union-attr]
    assert "MIT License" in text
    assert 'license = "MIT"' in (ROOT / "pyproject.toml").read_text()


@pytest.mark.parametrize("sample", SAMPLES)
def test_the_sample_install_step_works_from_the_checkout(sample: str, tmp_path: Path) -> None:
    """The Dockerfile's ``RUN pip install`` line, run in the folder its WORKDIR stands for."""
    steps = instructions(ROOT / "sample_projects" / sample / "Dockerfile")
    workdir = None
    runs = []
    for word, args in steps:
        if word == "WORKDIR":
            workdir = args
        elif word == "RUN":
            runs.append((workdir, shlex.split(args)))
    ((workdir_of_install, install),) = [(w, a) for w, a in runs if a[:2] == ["pip", "install"]]
    assert workdir_of_install is not None
    folder = in_checkout(PurePosixPath(workdir_of_install))
    python = fresh_venv(tmp_path / "venv")
    pip(python, *install[1:], cwd=folder)
    assert installed_from(python, "dual_log").startswith(str(tmp_path / "venv"))
    subprocess.run([python, "-c", IMPORTS[sample]], cwd="/", check=True)
