"""JetStream streams and KV buckets of Sarathi (ARCHITECTURE §3), as plain data.

The NATS adapter turns these into stream configurations (file storage, limits retention); the
in-memory bus uses the same specs to route durable publishes and to de-duplicate by message id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sarathi.common.bus import subjects

DEFAULT_DUPLICATE_WINDOW = timedelta(minutes=2)


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """A durable stream: its subjects, how long it keeps messages, its de-duplication window."""

    name: str
    subjects: tuple[str, ...]
    max_age: timedelta
    duplicate_window: timedelta = DEFAULT_DUPLICATE_WINDOW

    def __post_init__(self) -> None:
        if self.duplicate_window > self.max_age:
            raise ValueError(f"{self.name}: duplicate window longer than max age")
        for subject in self.subjects:
            subjects.validate_subject(subject, wildcards=True)

    def covers(self, subject: str) -> bool:
        return any(subjects.matches(pattern, subject) for pattern in self.subjects)


@dataclass(frozen=True, slots=True)
class KvBucketSpec:
    """A key-value bucket and how many revisions of each key it keeps."""

    name: str
    history: int = 16


MD_BARS = StreamSpec("MD_BARS", (subjects.BARS_ALL,), max_age=timedelta(days=7))
SIGNALS = StreamSpec("SIGNALS", (subjects.SIGNALS_ALL,), max_age=timedelta(days=30))
ORDER_CMD = StreamSpec(
    "ORDER_CMD",
    (subjects.ORDER_CMD_ALL,),
    max_age=timedelta(days=7),
    # A command id is deterministic (ARCHITECTURE §7): the same command re-sent at any time in the
    # trading day must be stored once.
    duplicate_window=timedelta(hours=24),
)
ORDER_EVT = StreamSpec(
    "ORDER_EVT", (subjects.ORDER_EVENTS_ALL, subjects.POSITION_EVENTS_ALL), max_age=timedelta(days=30)
)
RISK_EVT = StreamSpec("RISK_EVT", (subjects.RISK_EVENTS_ALL,), max_age=timedelta(days=30))
DEAD_LETTER = StreamSpec("DLQ", (subjects.DEAD_LETTERS_ALL,), max_age=timedelta(days=30))

STREAMS: tuple[StreamSpec, ...] = (MD_BARS, SIGNALS, ORDER_CMD, ORDER_EVT, RISK_EVT, DEAD_LETTER)

CONTROL_BUCKET = "control"
TRADING_STATE_KEY = "trading_state"
RECONCILIATION_KEY = "reconciliation"  # owned by orders: `ReconciliationStatus` and since when
SIM_CLOCK_KEY = "sim_clock"  # owned by sim (sim mode): `SimClockState`, on every clock change
DAILY_LOSS_BUDGET_KEY = "daily_loss_budget"  # owned by risk: `DailyLossBudget`, after every check
CONTROL = KvBucketSpec(CONTROL_BUCKET, history=64)
CREDENTIALS_BUCKET = "credentials"
# owned by orders: a sealed `SharedToken` (dhan.token_share)
DHAN_ACCESS_TOKEN_KEY = "dhan_access_token"  # noqa: S105 - a key name, not a secret
CREDENTIALS = KvBucketSpec(CREDENTIALS_BUCKET, history=1)
KV_BUCKETS: tuple[KvBucketSpec, ...] = (CONTROL, CREDENTIALS)


def stream_for(subject: str) -> StreamSpec | None:
    """The stream that stores `subject`, if any."""
    return next((spec for spec in STREAMS if spec.covers(subject)), None)


def stream_named(name: str) -> StreamSpec:
    """The spec of stream `name`; `KeyError` if Sarathi has no such stream."""
    for spec in STREAMS:
        if spec.name == name:
            return spec
    raise KeyError(name)
