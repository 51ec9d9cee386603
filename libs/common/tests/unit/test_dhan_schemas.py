"""Dhan's venue schemas: lenient where Dhan is inconsistent, exact about money."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from sarathi.common.dhan.schemas import (
    FundLimit,
    KillSwitchReply,
    ModifyOrderRequest,
    OrderRecord,
    OrderUpdateAlert,
    PnlExitReply,
    SuperOrderRecord,
    VenueSchemaError,
    one_or_none,
    parse,
    parse_list,
    parse_order_update_frame,
)


def an_order_row(**fields: object) -> dict[str, object]:
    row: dict[str, object] = {
        "dhanClientId": "1000000001",
        "orderId": "1126091512345",
        "correlationId": "sub-1",
        "orderStatus": "TRADED",
        "transactionType": "BUY",
        "exchangeSegment": "NSE_FNO",
        "productType": "INTRADAY",
        "orderType": "LIMIT",
        "securityId": "47317",
        "quantity": 65,
        "filledQty": 65,
        "price": 112.35,
        "averageTradedPrice": 112.35,
        "legName": "NA",
        "exchangeTime": "0001-01-01 00:00:00",
        "updateTime": "2026-09-15 09:20:11",
        "someNewField": "ignored",
    }
    row.update(fields)
    return row


def test_prices_become_exact_decimals_through_their_shortest_repr() -> None:
    record = parse(OrderRecord, an_order_row(price=112.35, averageTradedPrice="100.075"))

    assert record.price == Decimal("112.35")
    assert record.average_traded_price == Decimal("100.075")


def test_quantities_accept_numbers_strings_and_whole_floats() -> None:
    assert parse(OrderRecord, an_order_row(quantity="65")).quantity == 65
    assert parse(OrderRecord, an_order_row(quantity=65.0)).quantity == 65
    with pytest.raises(VenueSchemaError):
        parse(OrderRecord, an_order_row(quantity=65.5))


def test_the_never_sentinel_is_none_and_times_are_ist() -> None:
    record = parse(OrderRecord, an_order_row())

    assert record.exchange_time is None
    assert record.update_time is not None
    assert record.update_time.utcoffset() is not None
    assert record.update_time.hour == 9


def test_by_id_replies_may_be_an_object_an_array_or_empty() -> None:
    assert one_or_none(OrderRecord, an_order_row()) is not None
    assert one_or_none(OrderRecord, [an_order_row()]) is not None
    assert one_or_none(OrderRecord, []) is None
    assert parse_list(OrderRecord, None) == []


def test_the_misspelt_total_quatity_is_read_and_falls_back_to_remaining() -> None:
    body = {
        "orderId": "59",
        "orderStatus": "TRADED",
        "transactionType": "BUY",
        "exchangeSegment": "NSE_FNO",
        "securityId": "47317",
        "quantity": 65,
        "legDetails": [
            {
                "legName": "STOP_LOSS_LEG",
                "totalQuatity": 65,
                "remainingQuantity": 0,
                "orderStatus": "TRIGGERED",
            },
            {"legName": "TARGET_LEG", "remainingQuantity": 65, "orderStatus": "PENDING"},
        ],
    }
    record = parse(SuperOrderRecord, body)

    assert [leg.quantity for leg in record.leg_details] == [65, 65]


def test_funds_read_the_misspelt_available_balance() -> None:
    assert parse(FundLimit, {"availabelBalance": 98440.0}).available_balance == Decimal("98440.0")


def test_pnl_exit_status_reads_the_snake_case_kill_switch_flag() -> None:
    reply = parse(PnlExitReply, {"pnlExitStatus": "ACTIVE", "loss": 5000.0, "enable_kill_switch": True})

    assert reply.enable_kill_switch is True
    assert reply.loss == Decimal("5000.0")


def test_an_order_update_frame_may_hold_several_alerts_with_string_numbers() -> None:
    alert = (
        '{"Type":"order_alert","Data":{"OrderNo":"1","Status":"Part_Traded","SecurityId":"47317",'
        '"TxnType":"B","Quantity":"130","TradedQty":"65","AvgTradedPrice":"100.05",'
        '"AlgoOrdNo":1124091136547.0,"LegNo":"1","Remarks":"Super Order"}}'
    )
    other = '{"Type":"login_ack"}'

    alerts = parse_order_update_frame(alert + other + "\n" + alert)

    assert len(alerts) == 2
    assert alerts[0].status == "PART_TRADED"
    assert alerts[0].traded_qty == 65
    assert alerts[0].avg_traded_price == Decimal("100.05")
    assert alerts[0].algo_ord_no == "1124091136547"
    assert alerts[0].is_super_order_leg


def test_a_frame_that_is_not_json_is_a_schema_error() -> None:
    with pytest.raises(VenueSchemaError):
        parse_order_update_frame("1\n429 too many requests")


def test_an_alert_of_a_plain_order_is_not_a_super_order_leg() -> None:
    alert = parse(
        OrderUpdateAlert,
        {
            "OrderNo": "2",
            "Status": "TRADED",
            "SecurityId": "1",
            "TxnType": "S",
            "Quantity": 65,
            "AlgoOrdNo": "",
        },
    )

    assert not alert.is_super_order_leg


@pytest.mark.parametrize(
    ("status", "active"),
    [
        ("Kill Switch has been successfully activated", True),  # POST ...=ACTIVATE (REFERENCE §4.6)
        ("Kill Switch has been successfully deactivated", False),  # POST ...=DEACTIVATE
        ("ACTIVATE", True),  # GET /killswitch
        ("DEACTIVATE", False),
    ],
)
def test_kill_switch_reply_reads_both_of_dhans_sentences_and_both_words(status: str, active: bool) -> None:
    reply = parse(KillSwitchReply, {"dhanClientId": "1000000001", "killSwitchStatus": status})

    assert reply.active is active


def test_a_kill_switch_reply_with_neither_word_is_a_schema_error_not_a_guess() -> None:
    reply = parse(KillSwitchReply, {"killSwitchStatus": "Something went wrong"})

    with pytest.raises(VenueSchemaError):
        _ = reply.active


def test_an_order_update_alert_in_camel_case_reads_like_the_pascal_case_one() -> None:
    pascal = {
        "OrderNo": "59", "Status": "Part_Traded", "SecurityId": "47317", "TxnType": "B",
        "Quantity": 130, "TradedQty": 65, "AvgTradedPrice": 100.05, "AlgoOrdNo": "58", "LegNo": 1,
        "Remarks": "Super Order", "CorrelationId": "sub-1", "ReasonDescription": "CONFIRMED",
        "LastUpdatedTime": "2026-09-15 09:25:03", "Exchange": "NSE", "Segment": "D",
    }  # fmt: skip
    camel = {key[0].lower() + key[1:]: value for key, value in pascal.items()}

    assert parse(OrderUpdateAlert, camel) == parse(OrderUpdateAlert, pascal)
    assert parse(OrderUpdateAlert, camel).order_no == "59"
    assert parse(OrderUpdateAlert, camel).traded_qty == 65


@pytest.mark.parametrize("status", ["Pending", "PENDING", "pending", "pEnDiNg"])
def test_an_order_update_status_is_read_in_any_casing(status: str) -> None:
    data = {"orderNo": "1", "status": status, "securityId": "47317", "txnType": "B", "quantity": 65}
    frame = json.dumps({"Type": "order_alert", "Data": data})

    assert parse_order_update_frame(frame)[0].status == "PENDING"


def test_an_order_update_envelope_in_camel_case_is_read_too() -> None:
    data = {"orderNo": "1", "status": "Traded", "securityId": "1", "txnType": "S", "quantity": 65}
    frame = json.dumps({"type": "order_alert", "data": data})

    assert [alert.order_no for alert in parse_order_update_frame(frame)] == ["1"]


@pytest.mark.parametrize(
    "frame",
    [
        b"\xff\xfe not text",
        '{"Type":"order_alert","Data":{"orderNumber":"1","state":"Traded"}}',  # neither spelling
    ],
)
def test_a_frame_that_cannot_be_read_is_a_schema_error(frame: str | bytes) -> None:
    with pytest.raises(VenueSchemaError):
        parse_order_update_frame(frame)


def test_a_modify_request_leaves_absent_fields_out_and_never_sends_an_empty_string() -> None:
    request = ModifyOrderRequest(order_id="59", order_type="LIMIT", quantity=130, price=Decimal("96.05"))

    assert request.body() == {
        "orderId": "59", "orderType": "LIMIT", "quantity": 130, "price": 96.05, "validity": "DAY",
    }  # fmt: skip
    with pytest.raises(ValueError, match="leg_name"):
        ModifyOrderRequest(order_id="59", order_type="LIMIT", quantity=130, price=Decimal(96), leg_name="")
