"""The bus message catalog: golden wire examples, decoding rules and invariants.

Each message type has one realistic example built here and checked in as
`libs/common/tests/golden/<TypeName>.json` (sorted keys, two-space indent). A change to the wire
format makes `test_the_example_matches_its_golden_file` fail; after reviewing the change,
regenerate the files and commit the diff:

    SARATHI_UPDATE_GOLDEN=1 uv run pytest -q libs/common/tests/unit/test_messages.py
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from sarathi.common.domain.control import TradingState
from sarathi.common.domain.instruments import (
    BrokerOrderId,
    ClientOrderId,
    ExchangeSegment,
    OptionType,
    SecurityId,
    Underlying,
)
from sarathi.common.domain.money import OPTION_TICK
from sarathi.common.domain.trading import Direction, EntryOrderType, ExitReason, Leg, OrderStatus, Side
from sarathi.common.messages.base import Message, MessageDecodeError, decode, decode_as, envelope
from sarathi.common.messages.catalog import ALL_MESSAGE_TYPES
from sarathi.common.messages.market import (
    Bar,
    FeedRecovered,
    FeedStale,
    InstrumentRef,
    RefusedInstrument,
    SubscribeReply,
    SubscribeRequest,
    Tick,
    TickSnapshot,
    TickSnapshotRequest,
    UnsubscribeReply,
    UnsubscribeRequest,
)
from sarathi.common.messages.orders import (
    CancelOrder,
    ExitPosition,
    OptionContract,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderStateUnknown,
    PositionChanged,
    PositionClosed,
    PositionFill,
    PositionOpened,
    SubmitEntry,
)
from sarathi.common.messages.risk import (
    BrokerRefusedOrders,
    ControlState,
    DailyLossBreached,
    DailyLossBudget,
    ExitTriggered,
    TradingStateChanged,
    TrailingArmed,
)
from sarathi.common.messages.signals import Signal
from sarathi.common.messages.sim import ClockDone, ClockHeld, SimClockState

GOLDEN_DIR = Path(__file__).resolve().parent.parent / "golden"
UPDATE_GOLDEN = os.environ.get("SARATHI_UPDATE_GOLDEN") == "1"

IST = timezone(timedelta(hours=5, minutes=30))
BAR_CLOSE = datetime(2026, 9, 15, 10, 5, tzinfo=IST)

NIFTY_INDEX = SecurityId("13")
NIFTY_CALL = SecurityId("47317")  # NIFTY 15 Sep 2026 24000 CE
FNO = ExchangeSegment.NSE_FNO
SIGNAL_ID = "sig-NIFTY-st_rsi-5m-20260915T1005"
ENTRY_ID = ClientOrderId("NIFTY-20260915-1005-E0")
EXIT_ID = ClientOrderId("NIFTY-20260915-1040-X0")
ENTRY_ORDER = BrokerOrderId("5926091512345")
EXIT_ORDER = BrokerOrderId("1126091512399")


def canonical(message: Message) -> str:
    """The golden-file text of a message: its JSON with sorted keys and a two-space indent."""
    return json.dumps(json.loads(message.encode()), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def at(hhmmss: str) -> datetime:
    """An instant on the example trading day, 15 Sep 2026, in IST."""
    hour, minute, second = (int(part) for part in hhmmss.split(":"))
    return datetime(2026, 9, 15, hour, minute, second, tzinfo=IST)


def env(message_id: str, *, when: datetime, causation_id: str | None = SIGNAL_ID) -> dict[str, Any]:
    return envelope(
        message_id=message_id, correlation_id=SIGNAL_ID, causation_id=causation_id, event_time=when
    )


# --- builders: one realistic example of each message ------------------------------------------


def a_nifty_call_contract() -> OptionContract:
    return OptionContract(
        security_id=NIFTY_CALL,
        segment=FNO,
        strike=Decimal(24000),
        expiry=date(2026, 9, 15),
        option_type=OptionType.CALL,
    )


def a_call_tick(**changes: Any) -> Tick:
    fields: dict[str, Any] = {
        **envelope(
            message_id="7c1e0a9f4b2d4e38a1f0c3b5d6e7f809", correlation_id="feed-0", event_time=at("10:05:01")
        ),
        "segment": FNO,
        "security_id": NIFTY_CALL,
        "ltp": Decimal("112.35"),
        "ltq": 65,
        "exchange_time": at("10:05:00"),
        "received_at": datetime(2026, 9, 15, 10, 5, 0, 412000, tzinfo=IST),
        "volume": 1843250,
        "oi": 5214300,
        "bid": Decimal("112.30"),
        "bid_qty": 975,
        "ask": Decimal("112.40"),
        "ask_qty": 1300,
    }
    return Tick(**{**fields, **changes})


def a_bar() -> Bar:
    return Bar(
        **env("bar-5m-NIFTY-20260915T1000", when=BAR_CLOSE, causation_id=None),
        underlying=Underlying.NIFTY,
        interval="5m",
        start=at("10:00:00"),
        end=BAR_CLOSE,
        open=Decimal("24790.10"),
        high=Decimal("24815.60"),
        low=Decimal("24786.25"),
        close=Decimal("24812.35"),
        tick_count=300,
    )


def a_signal() -> Signal:
    return Signal(
        **env(SIGNAL_ID, when=at("10:05:00"), causation_id="bar-5m-NIFTY-20260915T1000"),
        underlying=Underlying.NIFTY,
        strategy="st_rsi",
        direction=Direction.BULLISH,
        interval="5m",
        bar_close_time=BAR_CLOSE,
        close=Decimal("24812.35"),
        indicators={"rsi": Decimal("61.42"), "supertrend": Decimal("24731.80"), "supertrend_dir": Decimal(1)},
    )


def a_submit_entry(**changes: Any) -> SubmitEntry:
    fields: dict[str, Any] = {
        **env(ENTRY_ID, when=at("10:05:02")),
        "signal_id": SIGNAL_ID,
        "underlying": Underlying.NIFTY,
        "contract": a_nifty_call_contract(),
        "quantity": 65,
        "lots": 1,
        "lot_size": 65,
        "order_type": EntryOrderType.LIMIT,
        "entry_price": Decimal("112.35"),
        "target_price": Decimal("140.00"),
        "stop_loss_price": Decimal("98.00"),
        "trailing_jump": Decimal("0.00"),
        "pyramid_level": 0,
    }
    return SubmitEntry(**{**fields, **changes})


def a_position_changed(**changes: Any) -> PositionChanged:
    fields: dict[str, Any] = {
        **env("pos-47317-20260915-1015", when=at("10:15:04"), causation_id="trade-98765499"),
        "security_id": NIFTY_CALL,
        "segment": FNO,
        "underlying": Underlying.NIFTY,
        "net_quantity": 130,
        "average_price": Decimal("115.075"),
        "realized_pnl": Decimal("0.00"),
        "fill": PositionFill(
            order_key="trade-98765499",
            side=Side.BUY,
            quantity=65,
            price=Decimal("117.80"),
            cumulative_quantity=65,
        ),
    }
    return PositionChanged(**{**fields, **changes})


def a_sim_clock(*, paused: bool = False) -> SimClockState:
    return SimClockState(
        **envelope(message_id="simclock-0001", correlation_id="sim", event_time=at("09:15:00")),
        market_start=at("09:15:00"),
        wall_start=datetime(2026, 9, 15, 3, 45, 0, tzinfo=UTC),
        speed=Decimal(180),
        paused=paused,
    )


def a_clock_held() -> ClockHeld:
    return ClockHeld(
        **envelope(message_id="held-0001", correlation_id="sim-clock", event_time=at("10:20:05")),
        at=at("10:20:05"),
        phase="market",
        round=1,
        frames={"feed": 41230, "order_update": 12},
        clock=a_sim_clock(),
    )


def a_clock_done() -> ClockDone:
    return ClockDone(
        **envelope(message_id="done-0001", correlation_id="sim-clock", event_time=at("10:20:05")),
        at=at("10:20:05"),
        phase="market",
        round=1,
        service="risk",
        published=318,
    )


NIFTY_INDEX_REF = InstrumentRef(segment=ExchangeSegment.IDX_I, security_id=NIFTY_INDEX)
NIFTY_CALL_REF = InstrumentRef(segment=FNO, security_id=NIFTY_CALL)


def _order_event_fields(leg: Leg = Leg.ENTRY, side: Side = Side.BUY) -> dict[str, Any]:
    return {"client_order_id": ENTRY_ID, "security_id": NIFTY_CALL, "segment": FNO, "side": side, "leg": leg}


def _position_fields(when: datetime, message_id: str) -> dict[str, Any]:
    return {
        **env(message_id, when=when, causation_id="trade-98765432"),
        "security_id": NIFTY_CALL,
        "segment": FNO,
        "underlying": Underlying.NIFTY,
    }


EXAMPLES: dict[str, Callable[[], Message]] = {
    "Tick": a_call_tick,
    "Bar": a_bar,
    "FeedStale": lambda: FeedStale(
        **envelope(message_id="stale-13-20260915T1131", correlation_id="feed-0", event_time=at("11:31:05")),
        connection="feed-0",
        segment=ExchangeSegment.IDX_I,
        security_id=NIFTY_INDEX,
        age_ms=5400,
        threshold_ms=5000,
        last_data_at=at("11:30:59"),
    ),
    "FeedRecovered": lambda: FeedRecovered(
        **envelope(
            message_id="recovered-13-20260915T1131", correlation_id="feed-0", event_time=at("11:31:20")
        ),
        connection="feed-0",
        segment=ExchangeSegment.IDX_I,
        security_id=NIFTY_INDEX,
        stale_for_ms=20400,
    ),
    "SubscribeRequest": lambda: SubscribeRequest(
        **envelope(message_id="sub-risk-0001", correlation_id=SIGNAL_ID, event_time=at("10:05:04")),
        requester="risk",
        instruments=(NIFTY_INDEX_REF, NIFTY_CALL_REF),
    ),
    "SubscribeReply": lambda: SubscribeReply(
        **envelope(
            message_id="sub-risk-0001-reply",
            correlation_id=SIGNAL_ID,
            causation_id="sub-risk-0001",
            event_time=at("10:05:04"),
        ),
        subscribed=(NIFTY_INDEX_REF, NIFTY_CALL_REF),
        refused=(
            RefusedInstrument(
                segment=FNO, security_id=SecurityId("99999999"), reason="not in the Derivative table"
            ),
        ),
    ),
    "UnsubscribeRequest": lambda: UnsubscribeRequest(
        **envelope(message_id="unsub-risk-0001", correlation_id=SIGNAL_ID, event_time=at("10:40:10")),
        requester="risk",
        instruments=(NIFTY_CALL_REF,),
    ),
    "UnsubscribeReply": lambda: UnsubscribeReply(
        **envelope(
            message_id="unsub-risk-0001-reply",
            correlation_id=SIGNAL_ID,
            causation_id="unsub-risk-0001",
            event_time=at("10:40:10"),
        ),
        unsubscribed=(NIFTY_CALL_REF,),
    ),
    "TickSnapshotRequest": lambda: TickSnapshotRequest(
        **envelope(message_id="snap-risk-0001", correlation_id="risk-start", event_time=at("10:05:04")),
        requester="risk",
        instruments=(NIFTY_INDEX_REF, NIFTY_CALL_REF),
    ),
    "TickSnapshot": lambda: TickSnapshot(
        **envelope(
            message_id="snap-risk-0001-reply",
            correlation_id="risk-start",
            causation_id="snap-risk-0001",
            event_time=at("10:05:04"),
        ),
        ticks=(a_call_tick(),),
        missing=(NIFTY_INDEX_REF,),
    ),
    "Signal": a_signal,
    "SubmitEntry": a_submit_entry,
    "ExitPosition": lambda: ExitPosition(
        **env(EXIT_ID, when=at("10:40:05"), causation_id="exit-47317-20260915T1040"),
        security_id=NIFTY_CALL,
        segment=FNO,
        underlying=Underlying.NIFTY,
        reason=ExitReason.TRAILING,
        requested_by="risk",
    ),
    "CancelOrder": lambda: CancelOrder(
        **env("NIFTY-20260915-1010-C0", when=at("10:10:00"), causation_id=ENTRY_ID),
        client_order_id=ENTRY_ID,
        broker_order_id=ENTRY_ORDER,
        leg=Leg.ENTRY,
        security_id=NIFTY_CALL,
        segment=FNO,
        reason="entry not filled within 5 minutes",
        requested_by="execution",
    ),
    "OrderAccepted": lambda: OrderAccepted(
        **env("acc-5926091512345", when=at("10:05:03"), causation_id=ENTRY_ID),
        **_order_event_fields(),
        broker_order_id=ENTRY_ORDER,
        status=OrderStatus.TRANSIT,
        quantity=65,
        price=Decimal("112.35"),
    ),
    "OrderRejected": lambda: OrderRejected(
        **env("rej-NIFTY-20260915-1005-E0", when=at("10:05:03"), causation_id=ENTRY_ID),
        **_order_event_fields(),
        broker_order_id=None,
        quantity=65,
        error_code="DH-906",
        error_message="RMS:5926091512345:Order Price needs to be Circuit Limits of 0.05 to 380.50",
    ),
    "OrderFilled": lambda: OrderFilled(
        **env("fill-98765432", when=at("10:05:04"), causation_id=ENTRY_ID),
        **_order_event_fields(),
        broker_order_id=ENTRY_ORDER,
        trade_id="98765432",
        fill_quantity=65,
        fill_price=Decimal("112.35"),
        cumulative_quantity=65,
        order_quantity=65,
        exchange_time=at("10:05:03"),
    ),
    "OrderCancelled": lambda: OrderCancelled(
        **env("cxl-5926091512345-TARGET", when=at("10:40:06"), causation_id=EXIT_ID),
        **_order_event_fields(leg=Leg.TARGET, side=Side.SELL),
        broker_order_id=ENTRY_ORDER,
        filled_quantity=0,
        cancelled_quantity=65,
        reason="exit protocol: resting legs cancelled before the market sell",
    ),
    "OrderStateUnknown": lambda: OrderStateUnknown(
        **env("unknown-NIFTY-20260915-1040-X0", when=at("10:40:08"), causation_id=EXIT_ID),
        client_order_id=EXIT_ID,
        security_id=NIFTY_CALL,
        segment=FNO,
        side=Side.SELL,
        leg=Leg.EXIT,
        operation="PLACE",
        broker_order_id=None,
        quantity=65,
        detail="POST /orders timed out after 3.0 s; resolving by correlation id",
    ),
    "PositionOpened": lambda: PositionOpened(
        **_position_fields(at("10:05:04"), "pos-47317-20260915-1005"),
        net_quantity=65,
        average_price=Decimal("112.35"),
        realized_pnl=Decimal("0.00"),
        fill=PositionFill(
            order_key="trade-98765432",
            side=Side.BUY,
            quantity=65,
            price=Decimal("112.35"),
            cumulative_quantity=65,
        ),
    ),
    "PositionChanged": a_position_changed,
    "PositionClosed": lambda: PositionClosed(
        **_position_fields(at("10:40:09"), "pos-47317-20260915-1040"),
        net_quantity=0,
        average_price=Decimal("115.075"),
        realized_pnl=Decimal("2265.25"),
        fill=PositionFill(
            order_key="xTR-trade-98765432",
            side=Side.SELL,
            quantity=130,
            price=Decimal("132.50"),
            cumulative_quantity=130,
        ),
        exit_reason=ExitReason.TRAILING,
    ),
    "TrailingArmed": lambda: TrailingArmed(
        **env("trail-47317-20260915T1020", when=at("10:20:00"), causation_id=None),
        security_id=NIFTY_CALL,
        segment=FNO,
        underlying=Underlying.NIFTY,
        pnl=Decimal("1036.75"),
        hwm=Decimal("1036.75"),
        ltp=Decimal("123.05"),
    ),
    "ExitTriggered": lambda: ExitTriggered(
        **env("exit-47317-20260915T1040", when=at("10:40:05"), causation_id=None),
        security_id=NIFTY_CALL,
        segment=FNO,
        underlying=Underlying.NIFTY,
        reason=ExitReason.TRAILING,
        pnl=Decimal("2265.25"),
        hwm=Decimal("2388.75"),
        ltp=Decimal("132.50"),
    ),
    "DailyLossBreached": lambda: DailyLossBreached(
        **envelope(
            message_id="dailyloss-20260915", correlation_id="risk-20260915", event_time=at("13:12:35")
        ),
        trading_day=date(2026, 9, 15),
        realized_pnl=Decimal("-4120.00"),
        unrealized_pnl=Decimal("-985.50"),
        total_pnl=Decimal("-5105.50"),
        loss_limit=Decimal(5000),
    ),
    "DailyLossBudget": lambda: DailyLossBudget(
        **envelope(
            message_id="budget-20260915T1105", correlation_id="risk-20260915", event_time=at("11:05:00")
        ),
        trading_day=date(2026, 9, 15),
        net_pnl=Decimal("-3412.96"),
        loss_limit=Decimal(5000),
        remaining=Decimal("1587.04"),
    ),
    "TradingStateChanged": lambda: TradingStateChanged(
        **envelope(
            message_id="state-20260915T1312", correlation_id="risk-20260915", event_time=at("13:12:35")
        ),
        state=TradingState.HALTED,
        previous_state=TradingState.ACTIVE,
        reason="daily loss limit ₹5,000 breached",
        actor="risk",
        at=at("13:12:35"),
    ),
    "ControlState": lambda: ControlState(
        **envelope(message_id="control-20260915T0915", correlation_id="control", event_time=at("09:15:02")),
        state=TradingState.PAUSED,
        reason="operator pause before the RBI announcement",
        actor="operator:asha",
        updated_at=at("09:15:02"),
    ),
    "BrokerRefusedOrders": lambda: BrokerRefusedOrders(
        **envelope(message_id=f"refused-{ENTRY_ID}", correlation_id=SIGNAL_ID, event_time=at("10:05:06")),
        error_code="DH-911",
        reason="Invalid IP",
        operation="PLACE",
        target=ENTRY_ID,
    ),
    "SimClockState": a_sim_clock,
    "ClockHeld": a_clock_held,
    "ClockDone": a_clock_done,
}


def golden_path(type_name: str) -> Path:
    return GOLDEN_DIR / f"{type_name}.json"


def golden_files() -> list[Path]:
    return sorted(GOLDEN_DIR.glob("*.json"))


def registered_names() -> set[str]:
    """Names of the registered production types (a test may register a throw-away type of its own)."""
    return {name for name, cls in Message.registry.items() if cls.__module__.startswith("sarathi.")}


# --- the catalog and its golden files ---------------------------------------------------------


def test_the_catalog_lists_exactly_the_registered_types() -> None:
    assert {cls.__name__ for cls in ALL_MESSAGE_TYPES} == registered_names()
    assert len(ALL_MESSAGE_TYPES) == len(set(ALL_MESSAGE_TYPES))
    for cls in ALL_MESSAGE_TYPES:
        assert Message.registry[cls.__name__] is cls, "the wire name of a type is its class name"


def test_every_registered_type_has_an_example() -> None:
    assert set(EXAMPLES) == registered_names()


@pytest.mark.parametrize("type_name", sorted(EXAMPLES))
def test_the_example_matches_its_golden_file(type_name: str) -> None:
    message = EXAMPLES[type_name]()
    assert message.type == type_name
    path = golden_path(type_name)
    if UPDATE_GOLDEN:
        GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(canonical(message), encoding="utf-8")
    assert path.exists(), f"no golden file for {type_name}: run with SARATHI_UPDATE_GOLDEN=1"
    assert path.read_text(encoding="utf-8") == canonical(message), (
        f"the wire format of {type_name} changed: review, then regenerate with SARATHI_UPDATE_GOLDEN=1"
    )


def test_every_registered_type_has_a_golden_file_and_every_golden_file_names_one() -> None:
    assert {path.stem for path in golden_files()} == registered_names()


@pytest.mark.parametrize("path", golden_files(), ids=lambda path: path.stem)
def test_a_golden_file_decodes_and_reencodes_to_identical_json(path: Path) -> None:
    text = path.read_text(encoding="utf-8")

    message = decode(text)

    assert type(message).__name__ == path.stem == message.type
    assert json.loads(message.encode()) == json.loads(text)
    assert canonical(message) == text
    assert decode_as(text.encode(), type(message)) == message


# --- decoding rules ---------------------------------------------------------------------------


def golden_json(type_name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(golden_path(type_name).read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize("type_name", sorted(EXAMPLES))
def test_an_unknown_field_is_refused(type_name: str) -> None:
    data = golden_json(type_name) | {"surprise": "x"}

    with pytest.raises(MessageDecodeError, match="surprise"):
        decode(json.dumps(data))


def test_an_unknown_field_inside_a_nested_part_is_refused() -> None:
    data = golden_json("SubmitEntry")
    data["contract"]["lot_size"] = 65

    with pytest.raises(MessageDecodeError, match="lot_size"):
        decode(json.dumps(data))


def test_an_unknown_message_type_is_refused() -> None:
    data = golden_json("Tick") | {"type": "Tock"}

    with pytest.raises(MessageDecodeError, match="unknown message type"):
        decode(json.dumps(data))


@pytest.mark.parametrize("number", ["100.05", "100.0", "100", "1e2"])
def test_a_json_number_for_a_price_is_refused(number: str) -> None:
    text = json.dumps(golden_json("SubmitEntry") | {"entry_price": "PRICE"}).replace('"PRICE"', number)

    with pytest.raises(MessageDecodeError, match="entry_price"):
        decode(text)
    with pytest.raises(MessageDecodeError, match="entry_price"):
        decode_as(text, SubmitEntry)


def test_a_json_number_for_money_is_refused() -> None:
    data = golden_json("PositionClosed") | {"realized_pnl": 2275}

    with pytest.raises(MessageDecodeError, match="realized_pnl"):
        decode(json.dumps(data))


def test_a_price_as_a_json_string_is_accepted_and_normalized_to_the_tick_precision() -> None:
    data = golden_json("SubmitEntry") | {"entry_price": "112.3500"}

    message = decode_as(json.dumps(data), SubmitEntry)

    assert message.entry_price == Decimal("112.35")
    assert json.loads(message.encode())["entry_price"] == "112.35"


@pytest.mark.parametrize("value", [112.35, 112])
def test_a_python_float_or_int_price_is_refused_when_building_a_message(value: float) -> None:
    with pytest.raises(ValidationError, match="refused"):
        a_submit_entry(entry_price=value)


@pytest.mark.parametrize("field", ["entry_price", "target_price", "stop_loss_price", "trailing_jump"])
def test_an_off_tick_option_price_is_refused(field: str) -> None:
    data = golden_json("SubmitEntry") | {field: "112.33"}

    with pytest.raises(MessageDecodeError, match="tick"):
        decode(json.dumps(data))


@pytest.mark.parametrize("field", ["ltp", "bid", "ask"])
def test_an_off_tick_option_quote_is_refused(field: str) -> None:
    with pytest.raises(ValidationError, match=r"off the 0\.05 tick"):
        a_call_tick(**{field: Decimal("112.33")})


def test_an_index_tick_carries_an_index_level_off_the_option_tick() -> None:
    tick = a_call_tick(
        segment=ExchangeSegment.IDX_I, security_id=NIFTY_INDEX, ltp=Decimal("24812.33"), bid=None, ask=None
    )

    assert decode_as(tick.encode(), Tick).ltp == Decimal("24812.33")


def test_a_quantity_as_a_string_is_refused() -> None:
    data = golden_json("OrderFilled") | {"fill_quantity": "65"}

    with pytest.raises(MessageDecodeError, match="fill_quantity"):
        decode(json.dumps(data))


@pytest.mark.parametrize("type_name", ["PositionOpened", "PositionChanged", "PositionClosed"])
def test_a_negative_net_quantity_is_refused(type_name: str) -> None:
    data = golden_json(type_name) | {"net_quantity": -65}

    with pytest.raises(MessageDecodeError, match="never short"):
        decode(json.dumps(data))


def test_an_opened_or_changed_position_is_long_and_a_closed_one_is_flat() -> None:
    with pytest.raises(ValidationError, match="must be positive"):
        a_position_changed(net_quantity=0)
    with pytest.raises(MessageDecodeError, match="flat"):
        decode(json.dumps(golden_json("PositionClosed") | {"net_quantity": 65}))


@pytest.mark.parametrize("type_name", sorted(EXAMPLES))
def test_a_naive_event_time_is_refused(type_name: str) -> None:
    data = golden_json(type_name) | {"event_time": "2026-09-15T10:05:00"}

    with pytest.raises(MessageDecodeError, match="timezone"):
        decode(json.dumps(data))


def test_a_naive_datetime_is_refused_when_building_a_message() -> None:
    naive = datetime(2026, 9, 15, 10, 5)  # noqa: DTZ001 - the point of the test

    with pytest.raises(ValidationError, match="timezone"):
        a_call_tick(exchange_time=naive)


# --- immutability -----------------------------------------------------------------------------


def test_a_message_is_immutable() -> None:
    entry = a_submit_entry()

    with pytest.raises(ValidationError, match="frozen"):
        entry.entry_price = Decimal("1.00")  # type: ignore[misc]
    with pytest.raises(ValidationError, match="frozen"):
        entry.contract.strike = Decimal(24050)  # type: ignore[misc]


def test_collections_inside_a_message_are_immutable() -> None:
    signal = a_signal()
    reply = EXAMPLES["SubscribeReply"]()

    with pytest.raises(TypeError):
        signal.indicators["rsi"] = Decimal(99)  # type: ignore[index]
    assert isinstance(reply, SubscribeReply)
    assert isinstance(reply.subscribed, tuple)


# --- invariants of particular messages --------------------------------------------------------


def test_an_entry_quantity_is_lots_times_lot_size() -> None:
    with pytest.raises(ValidationError, match="lot size"):
        a_submit_entry(quantity=100)


def test_an_entry_needs_stop_below_entry_below_target() -> None:
    with pytest.raises(ValidationError, match="stop-loss"):
        a_submit_entry(stop_loss_price=Decimal("113.00"))
    with pytest.raises(ValidationError, match="stop-loss"):
        a_submit_entry(target_price=Decimal("112.00"))


def test_an_entry_contract_is_on_the_underlyings_option_segment() -> None:
    on_bse = OptionContract.model_validate(a_nifty_call_contract().model_dump() | {"segment": "BSE_FNO"})

    with pytest.raises(ValidationError, match="NSE_FNO"):
        a_submit_entry(contract=on_bse)


@pytest.mark.parametrize("bad_id", ["NIFTY-20260915-1005-E0-EXTRA", "has space", "dots.are.subjects"])
def test_a_command_id_must_fit_dhans_correlation_id(bad_id: str) -> None:
    with pytest.raises(ValidationError, match="correlationId"):
        a_submit_entry(message_id=bad_id)


def test_the_pyramid_level_is_between_zero_and_two() -> None:
    with pytest.raises(ValidationError, match="pyramid_level"):
        a_submit_entry(pyramid_level=3)


def test_a_fill_never_exceeds_the_cumulative_or_the_order_quantity() -> None:
    data = golden_json("OrderFilled") | {"cumulative_quantity": 130}

    with pytest.raises(MessageDecodeError, match="cumulative"):
        decode(json.dumps(data))


def test_a_bar_high_is_the_highest_price() -> None:
    data = golden_json("Bar") | {"high": "24800.00"}

    with pytest.raises(MessageDecodeError, match="high"):
        decode(json.dumps(data))


def test_feed_health_names_an_instrument_fully_or_not_at_all() -> None:
    connection_level = golden_json("FeedStale") | {"segment": None, "security_id": None}
    half = golden_json("FeedStale") | {"security_id": None}

    assert decode_as(json.dumps(connection_level), FeedStale).segment is None
    with pytest.raises(MessageDecodeError, match="both"):
        decode(json.dumps(half))


def test_a_trading_state_change_changes_the_state() -> None:
    data = golden_json("TradingStateChanged") | {"previous_state": "HALTED"}

    with pytest.raises(MessageDecodeError, match="did not change"):
        decode(json.dumps(data))


def test_daily_loss_total_is_realized_plus_unrealized() -> None:
    data = golden_json("DailyLossBreached") | {"total_pnl": "-5000.00"}

    with pytest.raises(MessageDecodeError, match="total"):
        decode(json.dumps(data))


def test_the_loss_budget_left_is_the_limit_plus_the_net_pnl_and_never_negative() -> None:
    wrong = golden_json("DailyLossBudget") | {"remaining": "5000"}
    spent = golden_json("DailyLossBudget") | {"net_pnl": "-6273.10", "remaining": "0"}
    overdrawn = spent | {"remaining": "-1273.10"}

    with pytest.raises(MessageDecodeError, match="remaining"):
        decode(json.dumps(wrong))
    assert decode_as(json.dumps(spent), DailyLossBudget).remaining == 0
    with pytest.raises(MessageDecodeError, match="remaining"):
        decode(json.dumps(overdrawn))


def test_the_sim_clock_runs_market_time_at_its_speed_and_stands_still_when_paused() -> None:
    wall = datetime(2026, 9, 15, 3, 46, 0, tzinfo=UTC)  # one wall minute after the anchor

    assert a_sim_clock().market_time_at(wall) == at("12:15:00")  # 180 market minutes
    assert a_sim_clock(paused=True).market_time_at(wall) == at("09:15:00")


# --- properties -------------------------------------------------------------------------------

tick_prices = st.integers(min_value=0, max_value=2_000_000).map(
    lambda steps: (steps * OPTION_TICK).quantize(OPTION_TICK)
)


def a_fill_at(price: Decimal) -> OrderFilled:
    message = EXAMPLES["OrderFilled"]()
    assert isinstance(message, OrderFilled)
    return OrderFilled.model_validate(message.model_dump() | {"fill_price": price})


@given(tick_prices)
def test_any_valid_price_round_trips_through_the_wire_unchanged(price: Decimal) -> None:
    fill = a_fill_at(price)

    decoded = decode_as(fill.encode(), OrderFilled)

    assert decoded.fill_price == price
    assert str(decoded.fill_price) == str(price)
    assert decoded == fill


@given(st.decimals(min_value=Decimal(-10_000_000), max_value=Decimal(10_000_000), places=2))
def test_any_money_amount_round_trips_through_the_wire_unchanged(amount: Decimal) -> None:
    message = EXAMPLES["PositionClosed"]()
    closed = PositionClosed.model_validate(message.model_dump() | {"realized_pnl": amount})

    decoded = decode_as(closed.encode(), PositionClosed)

    assert str(decoded.realized_pnl) == str(amount)
