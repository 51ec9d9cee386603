"""What to do with one durable delivery: the ack / nak / dead-letter policy both buses share.

`dispose` decodes, checks the type the handler accepts, runs it and answers with a `Disposition`;
each adapter then acks, naks with a delay, or dead-letters and terminates. Keeping the decision
here is what makes the in-memory bus behave like NATS.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sarathi.common.bus.port import ConsumerOptions, Handler
from sarathi.common.messages.base import Message, MessageDecodeError, UnexpectedMessageError, decode_one_of

log = logging.getLogger(__name__)

DLQ_REASON = "Sarathi-Dlq-Reason"
DLQ_STREAM = "Sarathi-Dlq-Stream"
DLQ_SEQUENCE = "Sarathi-Dlq-Sequence"
DLQ_CONSUMER = "Sarathi-Dlq-Consumer"
DLQ_SUBJECT = "Sarathi-Dlq-Subject"
DLQ_DELIVERIES = "Sarathi-Dlq-Deliveries"


@dataclass(frozen=True, slots=True)
class Ack:
    """Handled: acknowledge."""


@dataclass(frozen=True, slots=True)
class Nak:
    """Not handled yet: redeliver after `delay_seconds`."""

    delay_seconds: float


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """Never handleable (or retries exhausted): park it in the dead-letter stream, terminate it."""

    reason: str


Disposition = Ack | Nak | DeadLetter


@dataclass(frozen=True, slots=True)
class Delivery:
    """One delivery of a stored message to a durable consumer."""

    stream: str
    consumer: str
    subject: str
    sequence: int
    attempt: int  # 1 on first delivery
    data: bytes

    def dead_letter_headers(self, reason: str) -> dict[str, str]:
        return {
            DLQ_REASON: reason[:512],
            DLQ_STREAM: self.stream,
            DLQ_SEQUENCE: str(self.sequence),
            DLQ_CONSUMER: self.consumer,
            DLQ_SUBJECT: self.subject,
            DLQ_DELIVERIES: str(self.attempt),
        }

    @property
    def dead_letter_id(self) -> str:
        """De-duplication id of its dead letter, so a retried dead-lettering stores it once."""
        return f"{self.stream}:{self.consumer}:{self.sequence}"


async def dispose(
    delivery: Delivery,
    handler: Handler[Any],
    options: ConsumerOptions,
    accepted: tuple[type[Message], ...],
) -> Disposition:
    """Decode, check the type is `accepted`, run the handler, and decide. Never raises except on
    cancellation."""
    context = {"stream": delivery.stream, "consumer": delivery.consumer, "seq": delivery.sequence}
    if delivery.attempt > options.max_deliver:
        # Only reachable when earlier deliveries never finished (crash, shutdown mid-handler).
        return DeadLetter(f"not handled after {options.max_deliver} deliveries")
    try:
        message = decode_one_of(delivery.data, accepted)
    except UnexpectedMessageError as exc:
        log.warning(
            "dead-lettering a message of another type on %s: %s", delivery.subject, exc, extra=context
        )
        return DeadLetter(f"unexpected type: {exc}")
    except MessageDecodeError as exc:
        log.warning("dead-lettering undecodable message on %s: %s", delivery.subject, exc, extra=context)
        return DeadLetter(f"undecodable: {exc}")
    try:
        await handler(message)
    except Exception as exc:  # a handler error is data for the retry policy, not a crash
        log.warning(
            "handler failed on %s (attempt %d of %d)",
            delivery.subject,
            delivery.attempt,
            options.max_deliver,
            exc_info=True,
            extra=context,
        )
        if delivery.attempt >= options.max_deliver:
            return DeadLetter(f"handler failed {delivery.attempt} times: {exc!r}")
        return Nak(options.backoff_for(delivery.attempt))
    return Ack()
