"""The trials' table and totals (pure: from trial results to text and an exit code).

Books are cumulative over a system's day, so a problem found in one trial is still there in the
next: each finding counts once per system, in the trial that first saw it (marked new there).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sarathi.cli.chaos.findings import Finding, Kind
from sarathi.common.domain.calendar import IST

CLOSE_CHECK = "(close)"  # the row of a system's last check, after the square-off, with no kill


@dataclass(frozen=True, slots=True)
class Trial:
    number: int  # 1.. for kills; 0 for a system's close check
    system: int  # which `sarathi up` (each a fresh day)
    component: str  # killed with SIGKILL, or CLOSE_CHECK
    market_at: datetime | None  # market time of the kill (or of the check)
    recovered_seconds: float | None  # kill → restarted and every service ready; None: never
    settled_seconds: float | None  # clock paused → nothing in flight; None: never
    findings: tuple[Finding, ...] = ()
    also_restarted: tuple[str, ...] = ()  # other components that died and came back meanwhile

    @property
    def is_kill(self) -> bool:
        return self.component != CLOSE_CHECK

    def count(self, kind: Kind) -> int:
        return sum(1 for f in self.findings if f.kind is kind)


@dataclass
class Totals:
    trials: int = 0
    diverged: int = 0  # trials (and close checks) that ended with our books not the broker's
    unrecovered: int = 0
    distinct: dict[Kind, int] = field(default_factory=lambda: dict.fromkeys(Kind, 0))
    new: list[tuple[Trial, Finding]] = field(default_factory=list)  # each finding where first seen

    @property
    def clean(self) -> bool:
        return not self.diverged and not self.unrecovered and not any(self.distinct.values())


def new_findings(trials: Iterable[Trial]) -> list[tuple[Trial, Finding]]:
    """Each (system, kind, key) once, with the trial that saw it first."""
    seen: set[tuple[int, Kind, str]] = set()
    out = []
    for trial in trials:
        for finding in trial.findings:
            key = (trial.system, finding.kind, finding.key)
            if key not in seen:
                seen.add(key)
                out.append((trial, finding))
    return out


def totals(trials: Sequence[Trial]) -> Totals:
    out = Totals(
        trials=sum(1 for t in trials if t.is_kill),
        diverged=sum(1 for t in trials if t.count(Kind.DIVERGENCE)),
        unrecovered=sum(1 for t in trials if t.is_kill and t.recovered_seconds is None),
        new=new_findings(trials),
    )
    for _, finding in out.new:
        out.distinct[finding.kind] += 1
    return out


HEADER = (
    f"{'trial':>5} {'sys':>3} {'market':>8} {'killed':<10} {'back':>6} {'settle':>6} "
    f"{'diverg':>6} {'dup':>3} {'short':>5} {'lost':>4}  new  also restarted"
)


def row(trial: Trial, new: int) -> str:
    def seconds(value: float | None) -> str:
        return "never" if value is None else f"{value:.1f}s"

    market = "-" if trial.market_at is None else f"{trial.market_at.astimezone(IST):%H:%M:%S}"
    number = str(trial.number) if trial.is_kill else ""
    back = seconds(trial.recovered_seconds) if trial.is_kill else ""
    return (
        f"{number:>5} {trial.system:>3} {market:>8} {trial.component:<10} {back:>6} "
        f"{seconds(trial.settled_seconds):>6} {trial.count(Kind.DIVERGENCE):>6} "
        f"{trial.count(Kind.DUPLICATE):>3} {trial.count(Kind.SHORT):>5} {trial.count(Kind.FILL_LOST):>4}"
        f"  {new or '':>3}  {','.join(trial.also_restarted)}"
    ).rstrip()


def render(trials: Sequence[Trial]) -> str:
    """The table, then `render_end`."""
    return "\n".join([HEADER, *(row(t, len(new_in(trials, t))) for t in trials), render_end(trials)])


def new_in(trials: Sequence[Trial], trial: Trial) -> list[Finding]:
    """The findings `trial` saw first (`trial` among `trials`)."""
    return [f for t, f in new_findings(trials) if t is trial]


def render_end(trials: Sequence[Trial]) -> str:
    """The findings where first seen, and the totals."""
    summary = totals(trials)
    lines = [""]
    if summary.new:
        lines += ["Findings, where first seen:"]
        lines += [f"  system {t.system} trial {t.number or CLOSE_CHECK}: {f}" for t, f in summary.new]
        lines += [""]
    return "\n".join([*lines, render_totals(summary)])


def render_totals(summary: Totals) -> str:
    d = summary.distinct
    return (
        f"{summary.trials} trials: {summary.diverged} ended diverged, "
        f"{d[Kind.DUPLICATE]} duplicate broker orders, {d[Kind.SHORT]} short positions, "
        f"{d[Kind.FILL_LOST]} fills lost, {summary.unrecovered} components not back "
        f"({d[Kind.DIVERGENCE]} distinct divergences)."
    )


def exit_code(trials: Sequence[Trial]) -> int:
    """0 when every trial recovered and nothing diverged; 1 otherwise."""
    return 0 if totals(trials).clean else 1
