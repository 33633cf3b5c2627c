"""The samples' Dockerfiles build from the repository root: what they copy and run is there.

Docker does not run here, so this reads each Dockerfile as Docker would: the build context
is the repository root, minus what .dockerignore leaves out; the image keeps the
checkout's layout under /src, so each WORKDIR under /src is a folder of the checkout.
tests/e2e/test_install.py runs the same pip command from the checkout.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
from pathlib import Path, PurePosixPath

import pytest

from tests.conftest import ROOT

SAMPLES = sorted(p.parent.name for p in (ROOT / "sample_projects").glob("*/Dockerfile"))
IMAGE_ROOT = PurePosixPath("/src")


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of each line, continuation lines joined, comments left out."""
    text = re.sub(r"\\\r?\n", " ", dockerfile.read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def ignored(path: str) -> bool:
    """Whether the root .dockerignore leaves ``path`` (relative to the root) out of the context."""
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    parts = PurePosixPath(path).parts
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    for pattern in patterns:
        bare = pattern.removeprefix("**/")
        for prefix in prefixes:
            if fnmatch.fnmatchcase(prefix, pattern) or (
                pattern.startswith("**/") and fnmatch.fnmatchcase(prefix.split("/")[-1], bare)
            ):
                return True
    return False


def in_checkout(workdir: PurePosixPath) -> Path:
    """The folder of the checkout that a WORKDIR under /src stands for."""
    return ROOT.joinpath(*workdir.relative_to(IMAGE_ROOT).parts)


@pytest.mark.parametrize("sample", SAMPLES)
def test_copy_sources_exist_in_the_repository_root_context(sample: str) -> None:
    """Every COPY source is a path under the repository root that .dockerignore keeps."""
    copies = [
        args
        for word, args in instructions(ROOT / "sample_projects" / sample / "Dockerfile")
        if word == "COPY"
    ]
    assert copies
    sources = [source for args in copies for source in shlex.split(args)[:-1]]
    assert f"sample_projects/{sample}/" in sources
    assert {"pyproject.toml", "README.md", "dual_log/"} <= set(sources)
    for source in sources:
        assert not source.startswith("--"), f"{sample}: COPY {source} is not from the context"
        assert (ROOT / source).exists(), f"{sample}: COPY {source}: not in the repository"
        assert not ignored(source.rstrip("/")), f"{sample}: .dockerignore leaves out {source}"


@pytest.mark.parametrize("sample", SAMPLES)
def test_workdir_mirrors_the_checkout_and_the_paths_it_names_exist(sample: str) -> None:
    """The last WORKDIR is the sample's folder; requirements.txt and gunicorn -c paths resolve."""
    steps = instructions(ROOT / "sample_projects" / sample / "Dockerfile")
    workdirs = [PurePosixPath(args) for word, args in steps if word == "WORKDIR"]
    folder = in_checkout(workdirs[-1])
    assert folder == ROOT / "sample_projects" / sample
    requirements = (folder / "requirements.txt").read_text().splitlines()
    paths = [line for line in requirements if line.startswith(".")]
    assert [p.split("[")[0] for p in paths] == ["../.."]
    assert (folder / "../../pyproject.toml").resolve() == ROOT / "pyproject.toml"
    (cmd,) = [args for word, args in steps if word == "CMD"][-1:]
    for config in re.findall(r"-c (\S+)", cmd):
        assert (folder / config).is_file(), f"{sample}: gunicorn -c {config} not found"


@pytest.mark.parametrize("sample", SAMPLES)
def test_fly_toml_builds_the_sample_dockerfile(sample: str) -> None:
    """fly.toml's [build] dockerfile, read relative to fly.toml as flyctl does, is the sample's."""
    folder = ROOT / "sample_projects" / sample
    # fly.toml's [build] table, read plainly (tomllib needs Python 3.11).
    build = (folder / "fly.toml").read_text().split("\n[build]\n", 1)[1].split("\n[", 1)[0]
    (dockerfile,) = re.findall(r'^\s*dockerfile\s*=\s*"([^"]+)"', build, re.MULTILINE)
    assert (folder / dockerfile).resolve() == folder / "Dockerfile"
    readme = (folder / "README.md").read_text()
    assert f"fly deploy --config sample_projects/{sample}/fly.toml" in readme
    assert f"docker build -f sample_projects/{sample}/Dockerfile" in readme


def test_gunicorn_samples_use_the_gunicorn_config() -> None:
    """The web samples start gunicorn with integrations/gunicorn.conf.py."""
    for sample in ("django_app", "flask_app"):
        steps = instructions(ROOT / "sample_projects" / sample / "Dockerfile")
        cmd = [args for word, args in steps if word == "CMD"][-1]
        assert "gunicorn -c ../../integrations/gunicorn.conf.py " in cmd
