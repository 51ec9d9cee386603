"""The pure risk domain: no NATS, no SQL, no HTTP. Time and prices are arguments."""

from sarathi.risk.domain.position import Ltp, Status, TrackedPosition
from sarathi.risk.domain.rules import PnlBasis, RiskRules
from sarathi.risk.domain.trail import Assessment, ExitDecision, assess, decide_exit

__all__ = [
    "Assessment",
    "ExitDecision",
    "Ltp",
    "PnlBasis",
    "RiskRules",
    "Status",
    "TrackedPosition",
    "assess",
    "decide_exit",
]
