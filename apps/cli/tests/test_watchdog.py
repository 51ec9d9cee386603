"""The restart policy of `sarathi up`: capped exponential backoff, never a tight loop, deaths recorded."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sarathi.cli.runstate import Component
from sarathi.cli.watchdog import RestartPolicy, Watchdog

T0 = datetime(2026, 9, 16, 4, 0, tzinfo=UTC)


@dataclass
class FakeProcess:
    """A component whose deaths and failed starts the test decides (pure logic: no process)."""

    name: str = "risk"
    port: int = 8605
    url: str = "http://127.0.0.1:8605"
    data: str = ""
    exit_code: int | None = None
    start_fails: bool = False
    starts: int = 0
    current_pid: int = 100

    def pid(self) -> int | None:
        return self.current_pid

    def poll(self) -> int | None:
        return self.exit_code

    def restart(self) -> None:
        if self.start_fails:
            raise RuntimeError("port 8605 is taken")
        self.starts += 1
        self.current_pid += 1
        self.exit_code = None


@dataclass
class Harness:
    process: FakeProcess = field(default_factory=FakeProcess)
    said: list[str] = field(default_factory=list)
    now: float = 0.0

    def __post_init__(self) -> None:
        self.record = Component(pid=100, port=8605, url="http://127.0.0.1:8605")
        self.dog = Watchdog(
            [self.process], {"risk": self.record}, self.said.append, RestartPolicy(), wall=self.wall
        )

    def wall(self) -> datetime:
        return T0 + timedelta(seconds=self.now)

    def at(self, seconds: float) -> bool:
        self.now = seconds
        return self.dog.check(seconds)

    def dies(self, code: int = -9) -> None:
        self.process.exit_code = code


def test_a_killed_component_is_restarted_after_a_second_and_its_death_recorded() -> None:
    h = Harness()
    assert h.at(0) is False
    h.dies(-9)
    assert h.at(10) is True
    assert (h.record.state, h.record.pid, h.record.last_exit_code) == ("restarting", None, -9)
    assert h.record.last_exit_at == "2026-09-16T04:00:10Z"
    assert h.record.next_restart_at == "2026-09-16T04:00:11Z"
    h.at(10.5)
    assert h.process.starts == 0  # not before its backoff
    h.at(11)
    assert h.process.starts == 1
    assert (h.record.state, h.record.pid, h.record.restarts) == ("running", 101, 1)
    assert h.record.next_restart_at is None
    assert h.said == ["risk exited with code -9; restarting in 1s", "risk restarted (pid 101, restart 1)"]


def test_a_component_that_keeps_dying_waits_longer_each_time_up_to_thirty_seconds_and_is_reported() -> None:
    h = Harness()
    now, delays = 0.0, []
    h.at(now)
    for _ in range(8):
        h.dies(1)
        h.at(now)
        due = h.dog._due["risk"]
        delays.append(due - now)
        h.at(due - 0.01)
        assert h.record.pid is None  # never early
        now = due
        h.at(now)
    assert delays == [1, 2, 4, 8, 16, 30, 30, 30]
    assert h.process.starts == 8
    h.dies(1)
    h.at(now)
    assert h.record.state == "failing"
    assert "it keeps dying (9 times in a row)" in h.said[-1]


def test_a_component_that_stayed_up_a_minute_starts_its_backoff_again() -> None:
    h = Harness()
    h.at(0)
    for moment in (1, 2):  # two quick deaths: the next wait would be 4 s
        h.dies()
        h.at(moment)
        h.at(moment + h.record.failures)  # restart when due (1 s, then 2 s)
    assert h.record.failures == 2
    h.at(200)  # up for well over a minute
    assert h.record.failures == 0
    h.dies()
    h.at(201)
    assert h.said[-1] == "risk exited with code -9; restarting in 1s"


def test_a_restart_that_fails_is_tried_again_later_never_in_a_tight_loop() -> None:
    h = Harness()
    h.at(0)
    h.dies()
    h.at(1)
    h.process.start_fails = True
    h.at(2)
    assert h.record.state == "restarting"
    assert h.said[-1] == "risk did not restart: port 8605 is taken; restarting in 2s"
    for moment in (2.5, 3, 3.9):
        h.at(moment)
    assert h.process.starts == 0
    h.process.start_fails = False
    h.at(4)
    assert (h.record.restarts, h.record.state) == (1, "running")
