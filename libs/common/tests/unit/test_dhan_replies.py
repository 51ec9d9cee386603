"""The replies recording: what signals and execution read from Dhan, for the backtest to replay."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from sarathi.common.clock import IST, FakeClock
from sarathi.common.dhan.errors import DhanRejectedError
from sarathi.common.dhan.recording import RecordingError
from sarathi.common.dhan.replies import RecordedReply, ReplyRecorder, read_replies, replies_path
from sarathi.common.dhan.rest import Category, DhanRest

DAY = date(2026, 9, 16)
CHAIN_REQUEST = {"underlying": "NIFTY", "expiry": "2026-09-22"}
CHAIN_BODY: dict[str, Any] = {"data": {"last_price": 24215.35, "oc": {"24200.000000": {"ce": {"oi": 1}}}}}
HISTORY_REQUEST = {"underlying": "NIFTY", "from": "2026-09-11", "to": "2026-09-16", "interval": 5}
HISTORY_BODY: dict[str, Any] = {"open": [24100.5], "timestamp": [1789184700]}


def a_clock(hour: int, minute: int) -> FakeClock:
    return FakeClock(datetime(2026, 9, 16, hour, minute, tzinfo=IST))


def test_a_recorded_reply_reads_back_as_written_with_its_service_and_market_time(tmp_path: Path) -> None:
    clock = a_clock(9, 20)
    recorder = ReplyRecorder(tmp_path / "recording", "execution", clock.now)

    recorder.record("optionchain", CHAIN_REQUEST, CHAIN_BODY)

    assert read_replies(tmp_path / "recording", DAY) == [
        RecordedReply(clock.now(), "execution", "optionchain", CHAIN_REQUEST, CHAIN_BODY)
    ]
    (line,) = replies_path(tmp_path / "recording", DAY, "execution").read_text().splitlines()
    assert json.loads(line) == {
        "at": "2026-09-16T09:20:00+05:30", "kind": "optionchain", "request": CHAIN_REQUEST, "body": CHAIN_BODY
    }  # fmt: skip


def test_the_file_is_named_by_the_ist_day_of_the_market_time(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 9, 15, 19, 0, tzinfo=UTC))  # 00:30 IST on the 16th
    ReplyRecorder(tmp_path, "signals", clock.now).record("intraday", HISTORY_REQUEST, HISTORY_BODY)

    assert [p.name for p in tmp_path.iterdir()] == ["replies-20260916-signals.jsonl"]


def test_replies_of_two_services_merge_in_order_of_market_time(tmp_path: Path) -> None:
    clock = a_clock(9, 0)
    signals = ReplyRecorder(tmp_path, "signals", clock.now)
    execution = ReplyRecorder(tmp_path, "execution", clock.now)

    signals.record("intraday", HISTORY_REQUEST, HISTORY_BODY)
    clock.advance(600)
    execution.record("optionchain", CHAIN_REQUEST, {"first": True})
    clock.advance(60)
    signals.record("intraday", {**HISTORY_REQUEST, "underlying": "BANKNIFTY"}, HISTORY_BODY)
    clock.advance(60)
    execution.record("optionchain", CHAIN_REQUEST, {"second": True})

    replies = read_replies(tmp_path, DAY)
    assert [(r.at.strftime("%H:%M"), r.service, r.kind) for r in replies] == [
        ("09:00", "signals", "intraday"),
        ("09:10", "execution", "optionchain"),
        ("09:11", "signals", "intraday"),
        ("09:12", "execution", "optionchain"),
    ]
    assert read_replies(tmp_path, date(2026, 9, 17)) == []


def test_a_malformed_line_is_an_error_naming_its_file_and_line(tmp_path: Path) -> None:
    clock = a_clock(9, 20)
    ReplyRecorder(tmp_path, "execution", clock.now).record("optionchain", CHAIN_REQUEST, CHAIN_BODY)
    path = replies_path(tmp_path, DAY, "execution")
    with path.open("a") as stream:
        stream.write('{"at": "2026-09-16T09:21:00+05:30", "kind": "optionch')  # died mid-write

    with pytest.raises(RecordingError, match=r"replies-20260916-execution\.jsonl: line 2: "):
        read_replies(tmp_path, DAY)


def test_a_line_without_a_timezone_is_malformed(tmp_path: Path) -> None:
    path = replies_path(tmp_path, DAY, "signals")
    path.write_text('{"at": "2026-09-16T09:21:00", "kind": "intraday", "request": {}, "body": {}}\n')

    with pytest.raises(RecordingError, match=r"line 1: 'at' .* has no timezone"):
        read_replies(tmp_path, DAY)


def test_a_disk_error_is_counted_and_never_raised_into_the_caller(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the directory should be")
    failures: list[None] = []
    recorder = ReplyRecorder(blocked, "execution", a_clock(9, 20).now, on_error=lambda: failures.append(None))

    recorder.record("optionchain", CHAIN_REQUEST, CHAIN_BODY)
    recorder.record("optionchain", CHAIN_REQUEST, CHAIN_BODY)

    assert len(failures) == 2
    assert blocked.read_text() == "a file where the directory should be"


# --- the hook in the REST adapter --------------------------------------------------------------


def an_adapter(recorder: ReplyRecorder) -> DhanRest:
    return DhanRest(
        client_id="1", access_token=SecretStr("t"), base_url="http://127.0.0.1:9", recorder=recorder
    )


async def test_the_rest_adapter_records_a_successful_reply_exactly_as_dhan_sent_its_body(
    tmp_path: Path,
) -> None:
    rest = an_adapter(ReplyRecorder(tmp_path, "execution", a_clock(10, 0).now))
    reply = {"http_status": 200, "body": CHAIN_BODY}

    body = await rest.call(
        Category.OPTION_CHAIN, lambda _: reply, changes_state=False, record=("optionchain", CHAIN_REQUEST)
    )
    await rest.call(Category.DATA, lambda _: reply, changes_state=False)  # not asked to record

    assert body == CHAIN_BODY
    assert [(r.kind, r.request, r.body) for r in read_replies(tmp_path, DAY)] == [
        ("optionchain", CHAIN_REQUEST, CHAIN_BODY)
    ]


async def test_the_rest_adapter_records_no_error_reply(tmp_path: Path) -> None:
    rest = an_adapter(ReplyRecorder(tmp_path, "execution", a_clock(10, 0).now))
    refused = {"http_status": 400, "body": {"errorCode": "DH-905", "errorMessage": "Missing expiry"}}

    with pytest.raises(DhanRejectedError):
        await rest.call(
            Category.OPTION_CHAIN,
            lambda _: refused,
            changes_state=False,
            record=("optionchain", CHAIN_REQUEST),
        )

    assert read_replies(tmp_path, DAY) == []
