"""Bar-close barriers: which bar close comes next, and what a close still waits for, read from the
owners' tables in a real PostgreSQL."""

from __future__ import annotations

from datetime import datetime, time

import pytest
from sqlmodel import Session

from sarathi.cli.barriers import BarCloseBarriers, Pending
from sarathi.common.db import migrate
from sarathi.common.db.engine import create_engine
from sarathi.common.db.models.execution import Decision
from sarathi.common.db.models.orders import Command
from sarathi.common.db.models.signals import Signal
from sarathi.common.domain.calendar import IST

DAY_END = datetime(2026, 9, 16, 15, 30, tzinfo=IST)


def at(hour: int, minute: int, second: int = 0) -> datetime:
    return datetime.combine(DAY_END.date(), time(hour, minute, second), IST)


@pytest.mark.parametrize(
    ("after", "close"),
    [
        (at(9, 15), at(9, 20)),
        (at(9, 17, 30), at(9, 20)),
        (at(9, 20), at(9, 25)),
        (at(15, 25), at(15, 30)),
        (at(15, 29), DAY_END),
        (at(8, 0), at(9, 20)),
    ],
)
def test_the_next_close_is_on_the_five_minute_grid_from_0915_and_never_past_the_end(
    after: datetime, close: datetime
) -> None:
    assert BarCloseBarriers.next_close(after, DAY_END) == close


def test_a_close_on_the_end_stops_there() -> None:
    assert BarCloseBarriers.next_close(at(14, 0), at(14, 2)) == at(14, 2)


def test_pending_names_what_is_still_owed() -> None:
    assert Pending(False, 0, 0, 0).done
    owed = Pending(True, 2, 1, 0)
    assert not owed.done
    assert owed.describe() == (
        "the clock has not reached it, 2 signal decision(s) missing, 1 signal(s) without an entry decision"
    )


def test_a_bar_close_waits_for_the_signal_its_entry_decision_and_the_order_command(
    fresh_database_url: str,
) -> None:
    migrate.upgrade(fresh_database_url)
    close = at(10, 0)
    barriers = BarCloseBarriers(fresh_database_url, underlyings=1, timeout_seconds=0.05)
    engine = create_engine(fresh_database_url)
    try:
        assert barriers.pending(close, at(9, 59, 55)) == Pending(True, 1, 0, 0)
        with Session(engine) as session:
            session.add(
                Signal(signal_id="NIFTY-x-1000", underlying="NIFTY", strategy="x", bar_close_at=close,
                       direction="BULLISH", created_at=close)
            )  # fmt: skip
            session.add(
                Command(command_id="N-E0", kind="SUBMIT", status="SENDING", correlation_id="NIFTY-x-1000",
                        payload={}, created_at=close, updated_at=close)
            )  # fmt: skip
            session.commit()
        assert barriers.pending(close, close) == Pending(False, 0, 1, 1)
        with Session(engine) as session:
            session.add(
                Decision(signal_id="NIFTY-x-1000", underlying="NIFTY", outcome="PLACED", command_id="N-E0",
                         decided_at=close)
            )  # fmt: skip
            command = session.get(Command, 1)
            assert command is not None
            command.status = "PLACED"
            session.commit()
        assert barriers.wait(close, lambda: close).done
        late = barriers.wait(at(10, 5), lambda: at(10, 5))  # signals never decided on 10:05
        assert not late.done
        assert barriers.stats.held == 2
        assert barriers.stats.timed_out == ["10:05: 1 signal decision(s) missing"]
    finally:
        barriers.close()
        engine.dispose()
