"""A real huey worker for tests: the consumer ``oms worker`` runs, in threads of the test
process (:func:`running_worker`) or as a subprocess (:class:`WorkerProcess`, to SIGKILL it), on
the queue the test's environment selects (an SQLite file beside the test database, or Redis).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from huey.consumer import Consumer
from sqlalchemy import select

from core import db
from core.jobs import records
from core.jobs.records import JobView
from core.models import Job
from core.worker import consumer

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def running_worker(workers: int = 1) -> Iterator[Consumer]:
    """A consumer in threads of this process for the duration of the block (no periodic
    tasks: tests call them directly); stopped gracefully, so a running job finishes first."""
    worker = consumer.build(workers, scheduled=False)
    worker._set_signal_handlers = lambda: None  # type: ignore[method-assign]  # pytest keeps SIGINT
    worker.start()
    try:
        yield worker
    finally:
        worker.stop(graceful=True)


def all_jobs() -> list[JobView]:
    with db.transaction(readonly=True) as s:
        return [records.view(j) for j in s.execute(select(Job).order_by(Job.id)).scalars()]


def job(job_id: int) -> JobView:
    with db.transaction(readonly=True) as s:
        found = s.get(Job, job_id)
        assert found is not None
        return records.view(found)


def wait_for(job_id: int, *statuses: str, timeout: float = 90.0) -> JobView:
    """Poll the job row until its status is one of ``statuses`` (default: any final one)."""
    wanted = statuses or records.FINAL
    deadline = time.monotonic() + timeout
    while True:
        found = job(job_id)
        if found.status in wanted:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} is {found.status} after {timeout} s, not {wanted}")
        time.sleep(0.05)


def until(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still not so after {timeout} s")
        time.sleep(0.05)


def wait_idle(timeout: float = 90.0) -> list[JobView]:
    """Wait until no job is queued or running; every job."""
    deadline = time.monotonic() + timeout
    while True:
        jobs = all_jobs()
        if not any(j.active for j in jobs):
            return jobs
        if time.monotonic() > deadline:
            raise AssertionError(f"jobs still active after {timeout} s: {[(j.id, j.status) for j in jobs]}")
        time.sleep(0.05)


class WorkerProcess:
    """``oms worker`` (or ``tests.jobs.worker``, a worker with a fault injected) as a subprocess
    of the test, with the test's environment (database, queue, pinned clock)."""

    def __init__(self, module: str = "core.cli", args: tuple[str, ...] = ("worker",),
                 env: dict[str, str] | None = None, log: Path | None = None,
                 environ: Mapping[str, str] | None = None) -> None:
        """``environ``: the whole environment (default this process's); ``env``: set on top."""
        self.module, self.args, self.log = module, args, log
        self.env = dict(os.environ if environ is None else environ) | (env or {})
        self.proc: subprocess.Popen[str] | None = None
        self._log: IO[str] | None = None

    def start(self) -> WorkerProcess:
        self._log = self.log.open("a") if self.log else None
        self.proc = subprocess.Popen([sys.executable, "-m", self.module, *self.args], cwd=ROOT,
                                     env=self.env, stdout=subprocess.PIPE, stderr=self._log or None,
                                     text=True)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def read_until(self, text: str, timeout: float = 90.0) -> None:
        """Read the worker's stdout until a line contains ``text``."""
        assert self.proc is not None and self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        for line in self.proc.stdout:
            if text in line:
                return
            if time.monotonic() > deadline:
                break
        raise AssertionError(f"the worker never printed {text!r} (exit code {self.proc.poll()})")

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as a power cut or the OOM killer would."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        assert self.proc.wait(timeout=30) == -signal.SIGKILL
        self.stop()  # closes its pipe

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
        if self._log is not None:
            self._log.close()
