"""The collector held off during an evaluation comes back: after an error, and when the last of the jobs holding it off ends."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from agent.jobs.gcpause import collection_paused


@pytest.fixture(autouse=True)
def collector_running() -> Iterator[None]:
    gc.enable()
    yield
    gc.enable()


def test_the_collector_is_off_inside_and_on_after_even_when_the_job_fails() -> None:
    with pytest.raises(RuntimeError), collection_paused():
        assert not gc.isenabled()
        raise RuntimeError("job failed")
    assert gc.isenabled()


def test_the_collector_resumes_only_when_the_last_of_two_threads_leaves() -> None:
    inside, release = threading.Event(), threading.Event()

    def other_job() -> None:
        with collection_paused():
            inside.set()
            release.wait(10)

    t = threading.Thread(target=other_job)
    t.start()
    assert inside.wait(10)
    with collection_paused():
        pass
    assert not gc.isenabled()  # the other job still holds it
    release.set()
    t.join(10)
    assert gc.isenabled()


def test_a_collector_switched_off_before_stays_off() -> None:
    gc.disable()
    with collection_paused():
        pass
    assert not gc.isenabled()

