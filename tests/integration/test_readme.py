"""The README's commands run as written, against `make run` and `make run DEMO=1` alike (and a second time on
the same data: what they create is then already there)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.run_process import EASTWEST, RunningPlatform, run_env

ROOT = Path(__file__).resolve().parents[2]
SCRIPT_CAP = 900  # seconds; each of the README's own waits is bounded (30 s)


def readme_script(port: int) -> str:
    """Every shell block after the first (the `make` commands), for a platform on `port`."""
    blocks = re.findall(r"^```sh\n(.*?)^```$", (ROOT / "README.md").read_text(), flags=re.S | re.M)
    assert len(blocks) > 2
    script = "\n".join(blocks[1:])
    assert "localhost:8000" in script
    assert "<" not in re.sub(r"<<'EOF'", "", script), "a placeholder left in a README command"
    return script.replace("localhost:8000", f"localhost:{port}").replace(
        "127.0.0.1:8000", f"127.0.0.1:{port}"
    )


@pytest.fixture(scope="module", params=[False, True], ids=["make run", "make run DEMO=1"])
def platform(request: pytest.FixtureRequest) -> Iterator[RunningPlatform]:
    data_dir = Path(tempfile.mkdtemp(prefix="ew-test-readme-"))
    running = RunningPlatform.start(data_dir, *(["--demo"] if request.param else []))
    try:
        if request.param:
            running.wait(lambda: "demo data" in running.output(), "the demo data loaded")
        yield running
    finally:
        running.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.mark.parametrize("attempt", ["first", "again"])
def test_the_readme_commands_run_as_written(platform: RunningPlatform, attempt: str, tmp_path: Path) -> None:
    # Where a reader runs them: the checkout (its .venv), with the platform's data folder.
    (tmp_path / ".venv").symlink_to(Path(EASTWEST).parents[1])
    script = readme_script(int(platform.url.rsplit(":", 1)[1]))
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env=run_env(platform.data_dir),
        capture_output=True,
        text=True,
        timeout=SCRIPT_CAP,
    )
    assert result.returncode == 0, f"stdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}"
    assert "电子产品装配工" in result.stdout  # the job in the feed
    assert (
        "共 2 行：接收 2，拒绝 0" in result.stderr or "接收 0" in result.stderr
    )  # again: already registered
    for written in ("花名册模板.xlsx", "岗位供给清单.xlsx", "乘车名单.xlsx"):
        assert (tmp_path / written).stat().st_size > 0
