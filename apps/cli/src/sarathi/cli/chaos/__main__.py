"""`python -m sarathi.cli.chaos` (what `make chaos` runs): fault trials against `sarathi up`.

Prints a row per trial as it ends, then the findings where first seen and the totals; exit code
0 when every killed component came back and nothing diverged, 1 otherwise, 2 for bad arguments.

As root it runs inside a private network namespace (`unshare --net`, loopback up), so the fixed
ports of `sarathi up` (8600–8605) never meet a user's system; otherwise those ports must be free.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

import httpx

from sarathi.cli.chaos.system import ChaosError
from sarathi.cli.chaos.tally import HEADER, Trial, exit_code, render_end
from sarathi.cli.chaos.trials import COMPONENTS, Plan, parse_components, run_trials

INSIDE_NETNS = "SARATHI_CHAOS_NETNS"  # set on the re-executed process inside the namespace
UP_PORTS = range(8600, 8606)  # `sarathi up`'s fixed service ports (sarathi.cli.supervisor)


def say(text: str) -> None:
    print(text, flush=True)


def _whole(low: int, high: int) -> type[int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is outside {low}–{high}")
        return value

    return parse  # type: ignore[return-value]


def _speed(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (value.is_finite() and 1 <= value <= 2000):
        raise argparse.ArgumentTypeError(f"{text} is outside 1–2000")
    return value


def _components(text: str) -> tuple[str, ...]:
    try:
        return parse_components(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date YYYY-MM-DD: {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    from sarathi.cli.day import DEFAULT_DAY, DEFAULT_SEED

    parser = argparse.ArgumentParser(
        prog="python -m sarathi.cli.chaos",
        description="Fault trials: random SIGKILLs of Sarathi's components under `sarathi up`, "
        "each followed by a comparison of our books with the broker's.",
    )
    parser.add_argument("--trials", type=_whole(1, 10_000), default=10, help="kills (default %(default)s)")
    parser.add_argument("--seed", type=_whole(0, 2**63), default=1, help="seed of the schedule (default 1)")
    parser.add_argument(
        "--components", type=_components, default=COMPONENTS,
        help=f"comma-separated, or all (default): {','.join(COMPONENTS)}",
    )  # fmt: skip
    parser.add_argument("--speed", type=_speed, default=Decimal(100), help="sim clock speed (default 100)")
    parser.add_argument("--market-seed", type=_whole(0, 2**63), default=DEFAULT_SEED, help="sim market seed")
    parser.add_argument(
        "--date", type=_day, default=DEFAULT_DAY, help="the simulated day (default %(default)s)"
    )
    parser.add_argument(
        "--run-dir", default=".run/chaos", help="one run dir per system (default %(default)s)"
    )
    parser.add_argument(
        "--netns", choices=("auto", "on", "off"), default="auto",
        help="a private network namespace: auto = when root (default)",
    )  # fmt: skip
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if os.environ.get(INSIDE_NETNS) == "1":
        if subprocess.run(["ip", "link", "set", "lo", "up"], check=False).returncode != 0:
            say("could not bring the loopback up in the private network namespace; or --netns off")
            return 2
    elif args.netns == "on" or (args.netns == "auto" and os.geteuid() == 0):
        return _in_netns(argv)
    elif taken := [p for p in UP_PORTS if not _port_free(p)]:
        say(f"ports {taken} are taken (another `sarathi up`?): as root, --netns on keeps the trials apart")
        return 2
    plan = Plan(
        trials=args.trials, seed=args.seed, components=args.components, speed=args.speed,
        market_seed=args.market_seed, day=args.date, run_dir=Path(args.run_dir).resolve(),
    )  # fmt: skip
    say(
        f"Fault trials: {plan.trials} SIGKILLs of {','.join(plan.components)} (schedule seed {plan.seed}) "
        f"against `sarathi up --speed {plan.speed} --seed {plan.market_seed} --date {plan.day}`"
        + (" in a private network namespace" if os.environ.get(INSIDE_NETNS) == "1" else "")
    )
    say(HEADER)
    started = time.monotonic()
    trials: list[Trial] = []
    try:
        run_trials(plan, say, trials)
    except (ChaosError, httpx.HTTPError, subprocess.TimeoutExpired) as exc:
        say(f"fault trials stopped: {exc}")
        say(render_end(trials))
        return 1
    except KeyboardInterrupt:
        say("interrupted; every system started has been stopped")
        say(render_end(trials))
        return 130
    say(render_end(trials))
    say(f"Wall time {time.monotonic() - started:.0f}s.")
    return exit_code(trials)


def _in_netns(argv: list[str]) -> int:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        say("a private network namespace needs `unshare` and `ip` (util-linux, iproute2); or --netns off")
        return 2
    command = ["unshare", "--net", "--", sys.executable, "-m", "sarathi.cli.chaos", *argv]
    child = subprocess.Popen(command, env={**os.environ, INSIDE_NETNS: "1"})
    while True:
        try:
            return child.wait()
        except KeyboardInterrupt:
            continue  # Ctrl-C reached the child too: it stops what it started, then exits


def _port_free(port: int) -> bool:
    from sarathi.cli.supervisor import port_is_free

    return port_is_free(port)


if __name__ == "__main__":
    raise SystemExit(main())
