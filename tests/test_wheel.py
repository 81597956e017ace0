"""The built wheel installs into a fresh venv and its CLI runs there (marked ``wheel``: about 30 s).

The distribution is netlab-sim (the PyPI name netlab is taken); the import package and the ``netlab`` command
stay. The fresh venv gets the wheel alone (``--no-deps --no-index``); netlab's dependencies come from this
test's own environment through a ``.pth`` line, which adds that site-packages to the path without running its
``.pth`` files, so the editable source checkout is not importable there: what runs is the installed wheel.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.wheel


def _run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
                          check=False)  # fmt: skip


def test_wheel_installs_into_a_fresh_venv_and_runs(tmp_path: Path) -> None:
    built = _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp_path / "dist", ROOT, cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    assert wheel.name.startswith("netlab_sim-")
    names = zipfile.ZipFile(wheel).namelist()
    assert "netlab/__main__.py" in names and "netlab/py.typed" in names
    assert not any(n.startswith(("tests/", "notebooks/", "bench/")) for n in names)

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    installed = _run(py, "-m", "pip", "install", "-q", "--no-deps", "--no-index", wheel, cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(_run(py, "-c", purelib, cwd=tmp_path).stdout.strip())
    (site / "zz_netlab_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    probe = "import netlab, importlib.metadata as m; print(netlab.__file__); print(m.version('netlab-sim'))"
    where = _run(py, "-c", probe, cwd=tmp_path)
    assert where.returncode == 0, where.stderr
    path, version = where.stdout.split()
    assert Path(path).is_relative_to(env_dir) and version == "0.1.0"
    for command in ([py, "-m", "netlab", "--help"], [env_dir / "bin" / "netlab", "--help"],
                    [env_dir / "bin" / "netlab-sim", "--help"]):  # fmt: skip
        out = _run(*command, cwd=tmp_path)
        assert out.returncode == 0 and "compare" in out.stdout and "run" in out.stdout, (command, out.stderr)
