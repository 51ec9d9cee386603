"""The last steps of an entry: the chosen quote must be the contract the Derivative table knows,
and the `SubmitEntry` command that carries it."""

from __future__ import annotations

from datetime import date, datetime

from sarathi.common.domain.instruments import Contract
from sarathi.common.messages.orders import OptionContract, SubmitEntry
from sarathi.common.messages.signals import Signal
from sarathi.execution.domain.chain import OptionQuote
from sarathi.execution.domain.outcome import PASS, Gate, Outcome, Refused
from sarathi.execution.domain.sizing import EntryPlan


def match_contract(quote: OptionQuote, expiry: date, contract: Contract | None) -> Outcome[None]:
    """The chain's security id must be in the Derivative table with the same strike, expiry and side."""
    if contract is None:
        return Refused(
            Gate.REFDATA,
            f"security id {quote.security_id} ({quote.strike} {quote.option_type} {expiry}) "
            "is not in the Derivative table",
        )
    expected = (quote.strike, expiry, quote.option_type)
    found = (contract.strike, contract.expiry, contract.option_type)
    if expected != found:
        return Refused(
            Gate.REFDATA,
            f"security id {quote.security_id} is {found[0]} {found[2]} {found[1]} in the Derivative table, "
            f"but {expected[0]} {expected[2]} {expected[1]} in the chain",
        )
    return PASS


def submit_entry(
    signal: Signal, command_id: str, contract: Contract, plan: EntryPlan, *, level: int, now: datetime
) -> SubmitEntry:
    """The command to buy `contract` as planned; correlation id = the signal id, caused by the signal."""
    return SubmitEntry(
        message_id=command_id, correlation_id=signal.signal_id, causation_id=signal.message_id,
        event_time=now, signal_id=signal.signal_id, underlying=signal.underlying,
        contract=OptionContract(
            security_id=contract.security_id, segment=contract.segment, strike=contract.strike,
            expiry=contract.expiry, option_type=contract.option_type,
        ),
        quantity=plan.quantity, lots=plan.lots, lot_size=plan.lot_size, order_type=plan.order_type,
        entry_price=plan.entry_price, target_price=plan.target_price, stop_loss_price=plan.stop_loss_price,
        trailing_jump=plan.trailing_jump, pyramid_level=level,
    )  # fmt: skip
