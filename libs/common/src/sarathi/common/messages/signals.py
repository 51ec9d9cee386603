"""Trading signals: one strategy's decision on one closed bar (subject `signal.<underlying>`)."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime

from sarathi.common.domain.instruments import Underlying
from sarathi.common.domain.trading import Direction
from sarathi.common.messages.base import Message, register
from sarathi.common.messages.fields import BarInterval, DecimalMap, Name, WireIndexLevel


@register
class Signal(Message):
    """The trend decision of `strategy` on the bar of `underlying` that closed at `bar_close_time`.

    `message_id` is the deterministic signal id (derived from strategy, underlying, interval and
    bar close time), so a re-published bar yields the same id and JetStream drops the duplicate;
    the commands it causes derive their ids from it. `indicators` records the values behind the
    decision (e.g. `supertrend`, `rsi`) as decimals, for the signal history and for debugging.
    """

    type: Literal["Signal"] = "Signal"
    underlying: Underlying
    strategy: Name
    direction: Direction
    interval: BarInterval
    bar_close_time: AwareDatetime
    close: WireIndexLevel
    indicators: DecimalMap

    @property
    def signal_id(self) -> str:
        return self.message_id
