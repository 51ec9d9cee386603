"""The trial loop: random SIGKILLs against `sarathi up`, each followed by a settle and a comparison.

A system is one `sarathi up` (sim mode, the market seed and day given, at `speed`) in its own run
directory. On it, trial after trial: let market time run a random 1–12 market minutes, SIGKILL a
random component, wait for `_serve` to restart it and every service to be ready, wait for a
reconciliation pass of orders, pause the clock, settle, compare the books (`findings`), resume.
Kills stop at 15:05 market time; the system's day then runs on past the 15:15 square-off to
15:25, is checked once more (the close check) and stopped, and the next trial starts a fresh
system. The schedule (which component, how long between kills) comes from `seed`.
"""

from __future__ import annotations

import random
import time as walltime
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from sarathi.cli.chaos.findings import Finding, Kind, compare
from sarathi.cli.chaos.system import UpSystem
from sarathi.cli.chaos.tally import CLOSE_CHECK, Trial, new_in, row
from sarathi.common.domain.calendar import IST

COMPONENTS = ("orders", "risk", "execution", "feed", "signals", "nats", "postgres")
GAP_MARKET_MINUTES = (1.0, 12.0)
LAST_KILL, CLOSE_CHECK_AT = time(15, 5), time(15, 25)
BACK_TIMEOUT_SECONDS = 90.0
RECONCILE_TIMEOUT_SECONDS = 30.0
SETTLE_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class Plan:
    trials: int
    seed: int
    components: tuple[str, ...]
    speed: Decimal
    market_seed: int
    day: date
    run_dir: Path


def run_trials(plan: Plan, say: Callable[[str], None], trials: list[Trial]) -> None:
    """Run `plan.trials` kills, appending each result (and each system's close check) to `trials`."""
    rng = random.Random(plan.seed)  # noqa: S311 - a reproducible schedule, not a secret
    kills, system_no = 0, 0
    last_kill = datetime.combine(plan.day, LAST_KILL, IST)
    while kills < plan.trials:
        system_no += 1
        run_dir = plan.run_dir / f"system-{system_no}"
        system = UpSystem(run_dir, seed=plan.market_seed, speed=plan.speed, day=plan.day)
        say(f"-- system {system_no}: sarathi up (run dir {system.run_dir}) ...")
        try:
            system.up()
            say(f"-- system {system_no} ready at market {system.market_now():%H:%M:%S}")
            while kills < plan.trials:
                at = system.market_now() + timedelta(minutes=rng.uniform(*GAP_MARKET_MINUTES))
                if at > last_kill:
                    break
                component = rng.choice(plan.components)
                _until(system, at, plan.speed)
                kills += 1
                trial = kill_trial(system, component, kills, system_no)
                _show(trials, trial, say)
                if trial.recovered_seconds is None:
                    break  # a component that did not come back: this system is done
            _until(system, datetime.combine(plan.day, CLOSE_CHECK_AT, IST), plan.speed)
            _show(trials, close_check(system, system_no), say)
        finally:
            say(f"-- system {system_no}: {system.down()}")


def kill_trial(system: UpSystem, component: str, number: int, system_no: int) -> Trial:
    if not system.wait_running(component, BACK_TIMEOUT_SECONDS):  # died of an earlier trial's kill
        return Trial(number, system_no, component, system.market_now(), None, None)
    market_at = system.market_now()
    restarts = {name: seen.restarts for name, seen in system.components().items()}
    started = walltime.monotonic()
    before, pid = system.kill(component)
    back = system.wait_back(component, before, pid, BACK_TIMEOUT_SECONDS)
    recovered = walltime.monotonic() - started if back else None
    settled, findings = _settle_and_compare(system)
    also = tuple(
        name
        for name, seen in system.components().items()
        if name != component and seen.restarts > restarts.get(name, 0)
    )
    return Trial(number, system_no, component, market_at, recovered, settled, tuple(findings), also)


def close_check(system: UpSystem, system_no: int) -> Trial:
    market_at = system.market_now()
    settled, findings = _settle_and_compare(system)
    return Trial(0, system_no, CLOSE_CHECK, market_at, None, settled, tuple(findings))


def _settle_and_compare(system: UpSystem) -> tuple[float | None, list[Finding]]:
    findings = []
    if not system.wait_reconciled(RECONCILE_TIMEOUT_SECONDS):
        findings.append(Finding(Kind.DIVERGENCE, "reconciliation", "no reconciliation pass of orders"))
    try:
        settled, why = system.settle(SETTLE_TIMEOUT_SECONDS)
    finally:
        system.resume()
    if settled is None:
        return None, [*findings, Finding(Kind.DIVERGENCE, "unsettled", why)]
    return settled.seconds, [*findings, *compare(settled.books, settled.broker)]


def _until(system: UpSystem, at: datetime, speed: Decimal) -> None:
    """Until the system's market time reaches `at` (wall-clock polls of the sim's clock)."""
    while (now := system.market_now()) < at:
        walltime.sleep(min(0.5, max(0.02, (at - now).total_seconds() / float(speed))))


def _show(trials: list[Trial], trial: Trial, say: Callable[[str], None]) -> None:
    trials.append(trial)
    say(row(trial, len(new_in(trials, trial))))


def parse_components(text: str, allowed: Sequence[str] = COMPONENTS) -> tuple[str, ...]:
    """`orders,risk` → ("orders", "risk"); `all` → every component. ValueError names the bad one."""
    if text.strip() == "all":
        return tuple(allowed)
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in allowed]
    if unknown or not names:
        raise ValueError(
            f"unknown component {', '.join(unknown) or '(none given)'}; choose from {', '.join(allowed)}"
        )
    return names
