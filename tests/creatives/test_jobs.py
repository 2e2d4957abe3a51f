"""The durable job engine (DBOS on the app's database): a worker killed mid-job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from app.db.migrate import upgrade
from app.jobs.engine import JobEngine

ROOT = Path(__file__).resolve().parents[2]


def _wait(cond: Any, timeout: float = 120.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _worker(url: str, tmp_path: Path, executor: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TAILOR_DATABASE_URL": url, "TAILOR_DATA_DIR": str(tmp_path / "var"),
           "TAILOR_SEARCH_ENABLED": "false", "PYTHONPATH": str(ROOT), "TAILOR_LOG_JSON": "false"}
    log = open(tmp_path / f"{executor}-{time.monotonic_ns()}.log", "wb")  # noqa: SIM115
    return subprocess.Popen([sys.executable, "-m", "app.cli", "worker", "--executor-id",
                             executor, "--queue", "probe", "--import",
                             "tests.creatives.jobs_probe"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def _count(url: str, sql: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        n = int(conn.execute(text(sql)).scalar() or 0)
    engine.dispose()
    return n


@pytest.fixture
def jobs_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'tailor.db'}"
        upgrade(url)
        yield url
    else:
        yield request.getfixturevalue("pg_database")


@pytest.mark.slow
@pytest.mark.parametrize("jobs_url", ["sqlite", pytest.param("postgres",
                                                             marks=pytest.mark.postgres)],
                         indirect=True)
def test_killed_worker_resumes_and_writes_once(jobs_url: str, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAILOR_DATABASE_URL", jobs_url)
    from tests.creatives import jobs_probe

    jobs_probe.setup(None)
    with create_engine(jobs_url).begin() as conn:  # the PostgreSQL database is shared
        conn.execute(text("DELETE FROM probe_attempts"))
        conn.execute(text("DELETE FROM probe_results"))
    # This process only enqueues and reads status (an API process with outside workers).
    engine = JobEngine.start(jobs_url, executor_id="test-api", listen=[],
                             modules=["tests.creatives.jobs_probe"])
    release = tmp_path / "release"
    first = _worker(jobs_url, tmp_path, "w1")
    try:
        job = engine.enqueue(jobs_probe.QUEUE, jobs_probe.probe, str(release))
        assert engine.status(job).state in {"queued", "running"}
        _wait(lambda: _count(jobs_url, "SELECT count(*) FROM probe_attempts") == 1,
              what="the worker to start the job")
        assert engine.status(job).state == "running"
        first.send_signal(signal.SIGKILL)  # kill -9 mid-step
        first.wait(30)
        release.touch()
        time.sleep(0.5)
        assert _count(jobs_url, "SELECT count(*) FROM probe_results") == 0
        assert engine.status(job).state == "running"  # still owned by the dead w1
        second = _worker(jobs_url, tmp_path, "w1")  # the same id takes its jobs back
        try:
            _wait(lambda: engine.status(job).state == "succeeded", what="the resumed job")
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(30)
        status = engine.status(job)
        assert status.result == 42
        assert status.progress == {"stage": "writing"}
        assert _count(jobs_url, "SELECT count(*) FROM probe_attempts") == 2  # step retried
        assert _count(jobs_url, "SELECT count(*) FROM probe_results") == 1  # written once
        assert _count(jobs_url, f"SELECT count(*) FROM probe_results WHERE job_id = '{job}' "
                      "AND value = 42") == 1
    finally:
        if first.poll() is None:
            first.kill()
        engine.stop()
