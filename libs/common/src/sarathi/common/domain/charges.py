"""What buying and selling index options through Dhan costs (REFERENCE §10.6).

Per executed order (partial fills of one order are one order) on the option premium:
brokerage ₹20 flat; STT on the sell side; the exchange transaction charge on both sides (NSE and
BSE rates differ); NSE's IPFT charge; the SEBI turnover fee; stamp duty on the buy side; GST on
brokerage + exchange charge + SEBI fee + IPFT. Rates change by law or circular, so they live in
a dated table and the set in force on the trade date applies.

Rounding (our choice; Dhan's exact rounding is UNVERIFIED): every component is computed exactly
in `Decimal` and rounded to the paisa (half-even, `to_paise_precision`) once per contract note,
i.e. over all of a day's orders in one exchange, the way a contract note states turnover-based
charges. GST is then 18 % of the rounded taxable components. `round_trip` on one day is one note;
a carried position (sell on a later day) is two notes. Reconcile against Dhan's trade book
(`/trades/{from}/{to}/{page}` rows carry stt, brokerageCharges, exchangeTransactionCharges,
sebiTax, stampDuty, serviceTax) before trusting paise.

A trade's P&L net of these charges is `sarathi.common.domain.pnl.trade_pnl`: every view of P&L
(risk, the report) counts it there.

Not modelled: STT on exercise of an in-the-money long option at expiry (0.15 % of intrinsic
value since 1 Apr 2026, 0.125 % before); the robot squares off before expiry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date
from decimal import Decimal

from sarathi.common.domain.instruments import Exchange
from sarathi.common.domain.money import to_paise_precision
from sarathi.common.domain.trading import Side

__all__ = [
    "APR_2026_RATES",
    "DHAN_OPTION_RATES",
    "OCT_2024_RATES",
    "ChargeBreakdown",
    "ChargeRateTable",
    "ChargeRates",
    "ChargeRatesUnavailableError",
    "ChargesCalculator",
    "RoundTrip",
    "percent",
]

ZERO = Decimal(0)


class ChargeRatesUnavailableError(LookupError):
    """A trade date before the first rate set of the table."""


def _require_decimal(value: object, name: str) -> Decimal:
    if not isinstance(value, Decimal):
        raise TypeError(f"{name} must be a Decimal (money is never a float), got {value!r}")
    if not value.is_finite():
        raise ValueError(f"{name} must be finite, got {value!r}")
    return value


def _require_turnover(value: object) -> None:
    if _require_decimal(value, "premium turnover") <= 0:
        raise ValueError(f"an executed order has a positive premium turnover, got {value}")


def _require_price(value: object, name: str) -> None:
    if _require_decimal(value, name) <= 0:
        raise ValueError(f"{name} must be positive, got {value}")


def percent(value: str) -> Decimal:
    """A rate written as a percentage, as the exchanges publish it: `percent("0.03503")`."""
    return Decimal(value) / 100


@dataclass(frozen=True, slots=True)
class ChargeRates:
    """Option charge rates in force from `effective_from` until the next set. Rates are fractions
    of premium turnover (0.001 = 0.1 %), except brokerage, which is rupees per executed order."""

    effective_from: date
    brokerage_per_order: Decimal
    stt_sell: Decimal
    exchange_txn: Mapping[Exchange, Decimal] = field(hash=False)
    ipft: Mapping[Exchange, Decimal] = field(hash=False)
    sebi_fee: Decimal
    stamp_duty_buy: Decimal
    gst: Decimal
    sources: str

    def __post_init__(self) -> None:
        for exchange in Exchange:
            if exchange not in self.exchange_txn or exchange not in self.ipft:
                raise ValueError(f"rates from {self.effective_from} lack {exchange}")
        rates = [self.brokerage_per_order, self.stt_sell, self.sebi_fee, self.stamp_duty_buy, self.gst]
        rates += [*self.exchange_txn.values(), *self.ipft.values()]
        for rate in rates:
            _require_decimal(rate, "a charge rate")
            if rate < 0:
                raise ValueError(f"negative charge rate {rate} in the set from {self.effective_from}")


class ChargeRateTable:
    """Rate sets by effective date; `in_force(day)` picks the latest set started by `day`."""

    def __init__(self, rate_sets: Sequence[ChargeRates]) -> None:
        if not rate_sets:
            raise ValueError("a rate table needs at least one rate set")
        self._sets = tuple(sorted(rate_sets, key=lambda s: s.effective_from))
        starts = [s.effective_from for s in self._sets]
        if len(set(starts)) != len(starts):
            raise ValueError("two rate sets start on the same day")

    @property
    def rate_sets(self) -> tuple[ChargeRates, ...]:
        return self._sets

    def in_force(self, trade_date: date) -> ChargeRates:
        current = None
        for rate_set in self._sets:
            if rate_set.effective_from <= trade_date:
                current = rate_set
        if current is None:
            raise ChargeRatesUnavailableError(
                f"no charge rates for {trade_date.isoformat()}; the table starts on "
                f"{self._sets[0].effective_from.isoformat()}"
            )
        return current


_COMMON_SOURCES = (
    "brokerage: Dhan pricing, ₹20 per executed F&O order (dhan.co/pricing as summarised by "
    "investking and chittorgarh; confirm on dhan.co); exchange txn: NSE 0.03503 % uniform from "
    "1 Oct 2024 (SEBI true-to-label circular, July 2024), BSE SENSEX options 0.0325 % (Share "
    "India and broker tables 2025–26); NSE IPFT ₹50/crore; SEBI fee ₹10/crore; stamp duty "
    "0.003 % on buys (Indian Stamp Act, from 1 Jul 2020); GST 18 %"
)

OCT_2024_RATES = ChargeRates(
    effective_from=date(2024, 10, 1),
    brokerage_per_order=Decimal(20),
    stt_sell=percent("0.1"),
    exchange_txn={Exchange.NSE: percent("0.03503"), Exchange.BSE: percent("0.0325")},
    ipft={Exchange.NSE: percent("0.0005"), Exchange.BSE: ZERO},
    sebi_fee=percent("0.0001"),
    stamp_duty_buy=percent("0.003"),
    gst=percent("18"),
    sources="STT 0.1 % of sell premium: Finance (No. 2) Act 2024, NSE/FATAX/63809 (11 Sep 2024); "
    + _COMMON_SOURCES,
)

APR_2026_RATES = replace(
    OCT_2024_RATES,
    effective_from=date(2026, 4, 1),
    stt_sell=percent("0.15"),
    sources="STT 0.15 % of sell premium: Union Budget 2026 (ClearTax, WION, Feb 2026); " + _COMMON_SOURCES,
)

# Before 1 Oct 2024 STT on options was 0.0625 %, but the exchange charges of that time are not
# captured here, so earlier trade dates are refused rather than priced wrongly.
DHAN_OPTION_RATES = ChargeRateTable([OCT_2024_RATES, APR_2026_RATES])
"""Dhan's charges on index options, from 1 Oct 2024."""


@dataclass(frozen=True, slots=True)
class ChargeBreakdown:
    """Charges in rupees, each component on the paisa."""

    brokerage: Decimal
    stt: Decimal
    exchange_txn: Decimal
    ipft: Decimal
    sebi_fee: Decimal
    stamp_duty: Decimal
    gst: Decimal

    @property
    def total(self) -> Decimal:
        return sum((getattr(self, f.name) for f in fields(self)), ZERO)

    def __add__(self, other: ChargeBreakdown) -> ChargeBreakdown:
        return ChargeBreakdown(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


@dataclass(frozen=True, slots=True)
class RoundTrip:
    """A bought-and-sold position: premiums, charges and the P&L after charges."""

    buy_turnover: Decimal
    sell_turnover: Decimal
    charges: ChargeBreakdown

    @property
    def gross_pnl(self) -> Decimal:
        return self.sell_turnover - self.buy_turnover

    @property
    def net_pnl(self) -> Decimal:
        return self.gross_pnl - self.charges.total


class ChargesCalculator:
    """Charges of executed option orders under a dated rate table."""

    def __init__(self, rates: ChargeRateTable = DHAN_OPTION_RATES) -> None:
        self._rates = rates

    def order_charges(
        self, side: Side, premium_turnover: Decimal, exchange: Exchange, trade_date: date
    ) -> ChargeBreakdown:
        """Charges of one executed order (all its partial fills) of `premium_turnover` rupees."""
        return self.contract_note([(side, premium_turnover)], exchange, trade_date)

    def contract_note(
        self, orders: Iterable[tuple[Side, Decimal]], exchange: Exchange, trade_date: date
    ) -> ChargeBreakdown:
        """Charges of a day's executed orders on one exchange, each component rounded once."""
        rates = self._rates.in_force(trade_date)
        bought = sold = ZERO
        count = 0
        for side, turnover in orders:
            _require_turnover(turnover)
            if side is Side.BUY:
                bought += turnover
            else:
                sold += turnover
            count += 1
        if count == 0:
            raise ValueError("a contract note needs at least one executed order")
        turnover = bought + sold
        brokerage = to_paise_precision(rates.brokerage_per_order * count)
        exchange_txn = to_paise_precision(turnover * rates.exchange_txn[exchange])
        ipft = to_paise_precision(turnover * rates.ipft[exchange])
        sebi_fee = to_paise_precision(turnover * rates.sebi_fee)
        taxable = brokerage + exchange_txn + ipft + sebi_fee
        return ChargeBreakdown(
            brokerage=brokerage,
            stt=to_paise_precision(sold * rates.stt_sell),
            exchange_txn=exchange_txn,
            ipft=ipft,
            sebi_fee=sebi_fee,
            stamp_duty=to_paise_precision(bought * rates.stamp_duty_buy),
            gst=to_paise_precision(taxable * rates.gst),
        )

    def round_trip(
        self,
        buy_price: Decimal,
        sell_price: Decimal,
        quantity: int,
        exchange: Exchange,
        trade_date: date,
        *,
        sell_date: date | None = None,
    ) -> RoundTrip:
        """Buy `quantity` units at `buy_price` and sell them at `sell_price` (rupees per unit),
        one order each side; sold on `trade_date` unless `sell_date` says otherwise."""
        _require_price(buy_price, "buy_price")
        _require_price(sell_price, "sell_price")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            raise ValueError(f"quantity must be a positive whole number of units, got {quantity!r}")
        bought, sold = buy_price * quantity, sell_price * quantity
        if sell_date is None or sell_date == trade_date:
            charges = self.contract_note([(Side.BUY, bought), (Side.SELL, sold)], exchange, trade_date)
        else:
            charges = self.order_charges(Side.BUY, bought, exchange, trade_date) + self.order_charges(
                Side.SELL, sold, exchange, sell_date
            )
        return RoundTrip(buy_turnover=bought, sell_turnover=sold, charges=charges)
