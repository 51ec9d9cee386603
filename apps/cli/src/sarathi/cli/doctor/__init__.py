"""`sarathi doctor`: a pre-market check of a mode (sim, paper, live), one line per check.

Each line is `pass`, `warn` or `fail` with what was found and, for a failure, what to do; `--json`
prints the same as a JSON object. Exit 1 when any check fails (live trading would not work), else 0.
Where it looks: the mode's settings (environment, then a `.env` file in the current directory); in
sim mode, without Dhan URLs in the environment, the system `sarathi up` started (its state file),
else the documented defaults. In paper and live modes the Dhan URLs default to Dhan's own.
The facts are fetched by `probes`, judged by `verdicts` (pure functions).
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping
from typing import Any

DHAN_REST_URL = "https://api.dhan.co/v2"
DHAN_FEED_URL = "wss://api-feed.dhan.co"
DHAN_ORDER_UPDATE_URL = "wss://api-order-update.dhan.co"
MODES = ("sim", "paper", "live")


def dotenv(path: str = ".env") -> dict[str, str]:
    """`SARATHI_*`, `NATS_URL` and `DATABASE_URL` from a `.env` file, under the environment's own."""
    from dotenv import dotenv_values

    if not os.path.isfile(path):
        return {}
    found = {k: v for k, v in dotenv_values(path).items() if v is not None}
    wanted = {k: v for k, v in found.items() if k.startswith("SARATHI_") or k in ("NATS_URL", "DATABASE_URL")}
    return {k: v for k, v in wanted.items() if k not in os.environ}


def target_of(mode: str, environ: Mapping[str, str]) -> Any:
    """The `probes.Target` of `mode` from `environ` (the settings classes give the defaults)."""
    from pydantic import SecretStr

    from sarathi.cli import runstate
    from sarathi.cli.doctor.probes import Target
    from sarathi.cli.doctor.verdicts import Config
    from sarathi.common.domain.holiday_file import HOLIDAYS_FILE_VARIABLE
    from sarathi.common.settings import Mode, SarathiSettings
    from sarathi.execution.settings import DHAN_DETAILED_MASTER, ExecutionSettings
    from sarathi.risk.settings import RiskSettings

    env = {k: v for k, v in environ.items() if k.upper() != "SARATHI_MODE"}
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:  # built as sim: live's own refusal is one of the doctor's checks, not an exception
        common, execution, risk = SarathiSettings(), ExecutionSettings(), RiskSettings()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    chosen = Mode(mode)
    rest, feed, updates = common.dhan_rest_url, common.dhan_feed_url, common.dhan_order_update_url
    nats_url, database_url = common.nats_url, common.database_url
    master_url = execution.instrument_master_url
    if chosen is Mode.SIM:
        state = runstate.load()
        if state is not None and "SARATHI_DHAN_REST_URL" not in env:
            sim = state.url("sim")
            rest, feed, updates = f"{sim}/v2", f"{sim.replace('http', 'ws', 1)}/feed", ""
            updates = f"{sim.replace('http', 'ws', 1)}/order-update"
            master_url = f"{sim}/api-data/api-scrip-master-detailed.csv"
            parts = state.components
            nats_url = parts["nats"].url if "nats" in parts else nats_url
            database_url = parts["postgres"].url if "postgres" in parts else database_url
    else:
        rest = env.get("SARATHI_DHAN_REST_URL", DHAN_REST_URL)
        feed = env.get("SARATHI_DHAN_FEED_URL", DHAN_FEED_URL)
        updates = env.get("SARATHI_DHAN_ORDER_UPDATE_URL", DHAN_ORDER_UPDATE_URL)
        master_url = env.get("SARATHI_EXECUTION_INSTRUMENT_MASTER_URL", DHAN_DETAILED_MASTER)
    return Target(
        mode=chosen, rest_url=rest, feed_url=feed, order_update_url=updates,
        client_id=common.dhan_client_id, token=SecretStr(common.dhan_access_token.get_secret_value()),
        nats_url=nats_url, database_url=database_url, master_url=master_url,
        min_option_rows=execution.instrument_min_option_rows,
        holidays_file=env.get(HOLIDAYS_FILE_VARIABLE, "").strip(),
        config=Config(
            mode=chosen, live_trading=common.live_trading,
            daily_loss_limit_inr=risk.risk_daily_loss_limit_inr, lots=execution.lots,
        ),
    )  # fmt: skip


def render(checks: list[Any]) -> str:
    width = max(len(c.name) for c in checks)
    lines = []
    for check in checks:
        lines.append(f"{check.status.value:<4}  {check.name:<{width}}  {check.detail}")
        if check.fix and check.status.value != "pass":
            lines.append(f"{'':<4}  {'':<{width}}  → {check.fix}")
    return "\n".join(lines)


def as_json(mode: str, checks: list[Any]) -> str:
    from sarathi.cli.doctor.verdicts import failed

    return json.dumps(
        {
            "mode": mode,
            "ok": not failed(checks),
            "checks": [
                {"name": c.name, "status": c.status.value, "detail": c.detail, "fix": c.fix} for c in checks
            ],
        },
        indent=1,
        ensure_ascii=False,
    )


def diagnose(mode: str, environ: Mapping[str, str], *, infrastructure: bool = True) -> list[Any]:
    """Every check of `mode` against what `environ` names (blocking); without `infrastructure`, not
    NATS and PostgreSQL (`sarathi up` checks Dhan before it starts them)."""
    import asyncio

    from sarathi.cli.doctor import probes

    return asyncio.run(probes.run(target_of(mode, environ), infrastructure=infrastructure))


def cmd_doctor(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from sarathi.cli.doctor.verdicts import failed

    try:
        checks = diagnose(args.mode, {**dotenv(), **os.environ})
    except ValidationError as exc:  # a setting that cannot be read at all: one line per error
        errors = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        print(f"sarathi doctor: bad settings: {errors}")
        return 2
    print(as_json(args.mode, checks) if args.json else render(checks))
    return 1 if failed(checks) else 0


def add_command(commands: Any) -> None:
    doctor = commands.add_parser("doctor", help="pre-market check of a mode: pass / warn / fail per check")
    doctor.add_argument("--mode", choices=MODES, default="sim", help="default %(default)s")
    doctor.add_argument("--json", action="store_true", help="print the checks as JSON")
    doctor.set_defaults(handler=cmd_doctor)
