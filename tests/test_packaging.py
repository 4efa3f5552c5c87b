"""The container image is built from the packages pyproject.toml names: a package the Dockerfile does not copy
would be missing from the image (and `pip install .` there would install the service without it)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_image_copies_every_package_the_project_installs() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    included = project["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {pattern.rstrip("*") for pattern in included}
    copied = set(re.findall(r"^COPY (\w+) \./\1$", (ROOT / "Dockerfile").read_text(), flags=re.MULTILINE))

    assert packages == copied
    # and every top-level folder with Python code in it is one of them (tests and benchmarks aside)
    rooms = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "bench"}
    assert rooms <= packages
