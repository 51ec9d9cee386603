"""Venue schemas: Dhan's trading JSON as it arrives (REFERENCE §2–§5), before any domain meaning.

Each model mirrors one of Dhan's reply shapes. They are frozen, ignore fields they do not name
(Dhan adds fields over time), and are lenient where Dhan is inconsistent:

- numbers may be JSON numbers or numeric strings; prices become `Decimal` through `str` (a float
  goes through its shortest repr, so `112.35` stays `112.35`); empty strings and nulls are None;
- quantities accept `65`, `"65"` and `65.0`;
- the docs' misspelling `totalQuatity` (super-order legs) and `availabelBalance` (funds) are read,
  with the correct spellings as fallbacks;
- order statuses are compared upper case (the order-update socket sends `Traded`, `Part_Traded`);
- order-update alerts are read in both spellings of their keys: PascalCase (`OrderNo`, the docs)
  and camelCase (`orderNo`, what the official SDK's handler reads, reported live in 2026);
- by-id replies may be one object or a one-element array (`one_or_none`);
- one order-update frame may hold several JSON objects back to back (`parse_order_update_frame`).

Timestamps are IST `YYYY-MM-DD HH:MM:SS`; Dhan's "never" sentinel `0001-01-01 ...` becomes None.
Mapping into the domain is the consumer's job (one function per schema, next to its domain).
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, TypeVar

from pydantic import (
    AliasChoices,
    AliasGenerator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
)
from pydantic.alias_generators import to_camel, to_pascal

from sarathi.common.domain.calendar import IST

_NEVER_PREFIX = "0001-01-01"


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"not a number: {value!r}") from None
        return number if number.is_finite() else None
    raise ValueError(f"not a number: {value!r}")


def _integer(value: Any) -> int:
    number = _decimal(value)
    if number is None:
        return 0
    if number != number.to_integral_value():
        raise ValueError(f"not a whole number: {value!r}")
    return int(number)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # AlgoOrdNo may arrive as 1124091136547.0
    return str(value).strip()


def _upper(value: Any) -> str:
    return _text(value).upper()


def _timestamp(value: Any) -> datetime | None:
    text = _text(value)
    if not text or text.startswith(_NEVER_PREFIX):
        return None
    for layout in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(text, layout).replace(tzinfo=IST)
        except ValueError:
            continue
    return None


Num = Annotated[Decimal | None, BeforeValidator(_decimal)]
"""A price or amount: Decimal via str, None when absent or empty."""
Int = Annotated[int, BeforeValidator(_integer)]
"""A quantity: 0 when absent or empty."""
Str = Annotated[str, BeforeValidator(_text)]
Upper = Annotated[str, BeforeValidator(_upper)]
Timestamp = Annotated[datetime | None, BeforeValidator(_timestamp)]


class _Rest(BaseModel):
    """A REST reply object: camelCase keys, unknown keys ignored, immutable."""

    model_config = ConfigDict(frozen=True, extra="ignore", alias_generator=to_camel, populate_by_name=True)


class OrderReply(_Rest):
    """Place / modify / cancel: `{orderId, orderStatus}` (REFERENCE §2.4, §3.2)."""

    order_id: Str
    order_status: Upper = ""


class ModifyOrderRequest(BaseModel):
    """`PUT /orders/{order-id}` (REFERENCE §2.4): what we send, not what arrives.

    Absent fields are omitted from the body, never sent as `""`: Dhan refuses empty strings with
    DH-905 (REFERENCE §1.2). `legName` matters only for BO/CO orders, so a plain order has none.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True)

    order_id: str = Field(min_length=1)
    order_type: str = Field(min_length=1)
    quantity: int = Field(gt=0)
    price: Decimal
    validity: str = "DAY"
    trigger_price: Decimal | None = None
    disclosed_quantity: int | None = None
    leg_name: str | None = Field(default=None, min_length=1)

    def body(self) -> dict[str, Any]:
        """The JSON body: camelCase, absent fields left out, prices as the SDK sends them (floats
        through their shortest repr: a price on the 0.05 tick survives the trip)."""
        fields = self.model_dump(by_alias=True, exclude_none=True)
        return {key: float(value) if isinstance(value, Decimal) else value for key, value in fields.items()}


class _OrderFields(_Rest):
    """The fields an order-book row and a super order share (REFERENCE §2.5, §3.5)."""

    order_id: Str
    correlation_id: Str = ""
    order_status: Upper
    transaction_type: Upper
    exchange_segment: Upper
    product_type: Upper = ""
    order_type: Upper = ""
    security_id: Str
    quantity: Int
    filled_qty: Int = 0
    remaining_quantity: Int = 0
    price: Num = None
    average_traded_price: Num = None


class OrderRecord(_OrderFields):
    """One row of the order book, or the order by id / by correlation id (REFERENCE §2.5)."""

    trigger_price: Num = None
    leg_name: Upper = ""
    oms_error_code: Str = ""
    oms_error_description: Str = ""
    create_time: Timestamp = None
    update_time: Timestamp = None
    exchange_time: Timestamp = None


class TradeRecord(_Rest):
    """One trade of the trade book (REFERENCE §2.6)."""

    order_id: Str
    exchange_trade_id: Str
    transaction_type: Upper
    exchange_segment: Upper
    security_id: Str
    traded_quantity: Int
    traded_price: Num
    exchange_time: Timestamp = None
    create_time: Timestamp = None


class SuperLegRecord(_Rest):
    """One exit leg in `legDetails` of the super-order list (REFERENCE §3.5)."""

    order_id: Str = ""
    leg_name: Upper
    transaction_type: Upper = ""
    total_quantity: Annotated[int, BeforeValidator(_integer)] | None = Field(
        default=None, validation_alias=AliasChoices("totalQuatity", "totalQuantity", "total_quantity")
    )
    remaining_quantity: Int = 0
    triggered_quantity: Int = 0
    price: Num = None
    order_status: Upper
    trailing_jump: Num = None

    @property
    def quantity(self) -> int:
        """`totalQuatity` (misspelt in the docs), else `totalQuantity`, else the remaining quantity."""
        return self.total_quantity if self.total_quantity is not None else self.remaining_quantity


class SuperOrderRecord(_OrderFields):
    """One super order of `GET /super/orders`: the entry leg and its exit legs (REFERENCE §3.5)."""

    trailing_jump: Num = None
    oms_error_description: Str = ""
    leg_details: tuple[SuperLegRecord, ...] = ()


class PositionRecord(_Rest):
    """One row of `GET /positions` (REFERENCE §4.1)."""

    security_id: Str
    exchange_segment: Upper
    product_type: Upper = ""
    position_type: Upper = ""
    net_qty: Int
    buy_qty: Int = 0
    sell_qty: Int = 0
    buy_avg: Num = None
    sell_avg: Num = None
    cost_price: Num = None
    realized_profit: Num = None
    unrealized_profit: Num = None


class FundLimit(_Rest):
    """`GET /fundlimit`; `availabelBalance` really is misspelt in production (REFERENCE §4.5)."""

    available_balance: Num = Field(
        default=None, validation_alias=AliasChoices("availabelBalance", "availableBalance")
    )
    sod_limit: Num = None
    utilized_amount: Num = None
    withdrawable_balance: Num = None


class Profile(_Rest):
    """`GET /profile` (REFERENCE §1.8): token validity `DD/MM/YYYY HH:MM` IST, `dataPlan` Active/Deactive."""

    dhan_client_id: Str = ""
    token_validity: Str = ""
    active_segment: Str = ""
    data_plan: Str = ""
    data_validity: Str = ""

    @property
    def token_valid_until(self) -> datetime | None:
        try:
            return datetime.strptime(self.token_validity, "%d/%m/%Y %H:%M").replace(tzinfo=IST)
        except ValueError:
            return None

    @property
    def data_plan_active(self) -> bool:
        return self.data_plan.strip().upper() == "ACTIVE"

    @property
    def derivatives_active(self) -> bool:
        """Live sends letters (`"E, D, C, M, "`), the docs words (`Derivative`)."""
        parts = {part.strip().upper() for part in self.active_segment.split(",")}
        return bool(parts & {"D", "DERIVATIVE", "DERIVATIVES", "FNO", "F&O"})


class StaticIps(_Rest):
    """`GET /ip/getIP` (REFERENCE §1.8); an error arrives as `[{message, status: ERROR}]` with HTTP 200."""

    primary_ip: Str = Field(default="", validation_alias=AliasChoices("primaryIP", "primaryIp"))
    secondary_ip: Str = Field(default="", validation_alias=AliasChoices("secondaryIP", "secondaryIp"))
    message: Str = ""


_KILL_SWITCH_WORD = re.compile(r"\b(ACTIVATED?|DEACTIVATED?)\b")


class KillSwitchReply(_Rest):
    """`POST /killswitch` (a sentence: "Kill Switch has been successfully activated" or
    "... deactivated") and `GET /killswitch` (`ACTIVATE`/`DEACTIVATE`) (REFERENCE §4.6)."""

    kill_switch_status: Str

    @property
    def active(self) -> bool:
        """Whether the switch is on: the last whole word ACTIVATE(D) or DEACTIVATE(D) decides
        ("DEACTIVATED" contains "ACTIVATED", so no substring test); neither word → VenueSchemaError."""
        words = _KILL_SWITCH_WORD.findall(self.kill_switch_status.upper())
        if not words:
            raise VenueSchemaError(f"unexpected kill switch status: {self.kill_switch_status!r}")
        return not words[-1].startswith("DE")


class PnlExitReply(_Rest):
    """`POST/GET/DELETE /pnlExit` (REFERENCE §4.6; GET spells `enable_kill_switch` in snake case)."""

    pnl_exit_status: Upper
    message: Str = ""
    profit: Num = None
    loss: Num = None
    product_type: tuple[str, ...] = ()
    enable_kill_switch: bool = Field(
        default=False, validation_alias=AliasChoices("enable_kill_switch", "enableKillSwitch")
    )


class ExitAllReply(_Rest):
    """`DELETE /positions`: `{status: SUCCESS|ERROR, message}` (REFERENCE §4.3)."""

    status: Upper
    message: Str = ""


def _pascal_or_camel(name: str) -> AliasChoices:
    return AliasChoices(to_pascal(name), to_camel(name))


class OrderUpdateAlert(BaseModel):
    """The `Data` of an order-update `order_alert` (REFERENCE §5.3), lenient.

    Each key is read as `OrderNo` (the docs) or `orderNo` (the SDK's handler; a platform trading
    live on Dhan saw the socket send camelCase in 2026 — which one Dhan sends today is UNVERIFIED).
    """

    model_config = ConfigDict(
        frozen=True,
        extra="ignore",
        alias_generator=AliasGenerator(validation_alias=_pascal_or_camel),
        populate_by_name=True,
    )

    order_no: Str
    exch_order_no: Str = ""
    correlation_id: Str = ""
    status: Upper
    exchange: Upper = ""
    segment: Upper = ""
    security_id: Str
    txn_type: Upper
    product: Upper = ""
    order_type: Upper = ""
    quantity: Int
    traded_qty: Int = 0
    remaining_quantity: Int = 0
    price: Num = None
    trigger_price: Num = None
    traded_price: Num = None
    avg_traded_price: Num = None
    algo_ord_no: Str = ""
    leg_no: Int = 0
    remarks: Str = ""
    reason_description: Str = ""
    last_updated_time: Timestamp = None

    @property
    def is_super_order_leg(self) -> bool:
        return "SUPER" in self.remarks.upper() or bool(self.algo_ord_no and self.algo_ord_no != "0")


M = TypeVar("M", bound=BaseModel)


class VenueSchemaError(ValueError):
    """A reply that does not have the shape its schema expects."""


def parse(model: type[M], body: Any) -> M:
    """`body` (a JSON object) as `model`, or `VenueSchemaError`."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise VenueSchemaError(f"unexpected {model.__name__} reply: {exc}") from exc


def parse_list(model: type[M], body: Any) -> list[M]:
    """A JSON array of `model` (a lone object is taken as a one-element array; null as empty)."""
    if body is None or body == "":
        return []
    items = body if isinstance(body, list) else [body]
    return [parse(model, item) for item in items]


def one_or_none(model: type[M], body: Any) -> M | None:
    """A by-id reply: one object, a one-element array, or `[]` / `{}` for "no such order"."""
    items = body if isinstance(body, list) else [body]
    items = [item for item in items if item]
    if not items:
        return None
    return parse(model, items[0])


def parse_order_update_frame(frame: str | bytes) -> list[OrderUpdateAlert]:
    """The order alerts in one WebSocket frame: several JSON objects may sit back to back.

    Objects whose `Type` (or `type`) is not `order_alert` (acknowledgements, heartbeats) are
    skipped; a frame that is not UTF-8 JSON, or an alert that cannot be read, raises
    `VenueSchemaError`.
    """
    try:
        text = frame.decode() if isinstance(frame, bytes) else frame
    except UnicodeDecodeError as exc:
        raise VenueSchemaError(f"order update frame is not UTF-8: {exc}") from None
    decoder = json.JSONDecoder()
    alerts: list[OrderUpdateAlert] = []
    index = 0
    while True:
        while index < len(text) and text[index].isspace():
            index += 1
        if index >= len(text):
            return alerts
        try:
            obj, index = decoder.raw_decode(text, index)
        except ValueError as exc:
            raise VenueSchemaError(f"order update frame is not JSON at {index}: {text[index:80]!r}") from exc
        if isinstance(obj, dict) and str(_either(obj, "Type")).lower() == "order_alert":
            alerts.append(parse(OrderUpdateAlert, _either(obj, "Data")))


def _either(obj: dict[str, Any], key: str) -> Any:
    """`obj[key]`, or its camelCase spelling (`Type` → `type`)."""
    return obj.get(key, obj.get(to_camel(key)))
