"""Paper mode: the paper broker accepts the Dhan token the services hold now.

In paper mode the services authenticate against the sim with the real Dhan token. orders renews
it (PIN + TOTP at auth.dhan.co) and publishes each new one to the KV bucket `credentials`
(`sarathi.common.dhan.token_share`); feed, signals, execution and orders' own calls switch to it.
The sim follows the same record with the same follower and adopts each newer token as its own
`GET /v2/RenewToken` does (`apply_fault` with `RenewToken`): the new token is valid, the one it
replaces reads as expired, and order-update sockets logged in with it are closed. Without this,
the sim knows only `SARATHI_SIM_ACCESS_TOKEN` and refuses every call after the first renewal.

Not in sim mode: there the sim mints the tokens itself (RenewToken) and the record holds them.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from pydantic import SecretStr

from sarathi.common.bus.port import Bus
from sarathi.common.dhan.token_share import TokenSink, following_token
from sarathi.common.logging import get_logger
from sarathi.common.tasks import BackgroundTasks
from sarathi.sim.api.control import ControlTargets, apply_fault
from sarathi.sim.faults import RenewToken
from sarathi.sim.runtime import SimRuntime

log = get_logger(__name__)


def adopting(targets: ControlTargets) -> TokenSink:
    """The follower's sink: make a shared token the sim's valid one, as a renewal would."""

    def adopt(token: SecretStr) -> None:
        value = token.get_secret_value()
        if hmac.compare_digest(value, targets.credentials.access_token):
            return  # already ours (the configured token at start): no socket to close
        apply_fault(targets, RenewToken(kind="renew_token", token=value))
        log.info("sim_shared_token_adopted")

    return adopt


@asynccontextmanager
async def following_shared_token(
    runtime: SimRuntime, bus: Bus, tasks: BackgroundTasks
) -> AsyncIterator[None]:
    """Adopt the shared token now and each newer one while the block runs (paper mode; with no
    `SARATHI_TOKEN_KEY` sharing is off, as for every service, and the configured token stays)."""
    key = runtime.settings.shared_token_key()
    async with following_token(bus, key, runtime.controller.clock, adopting(runtime.control), tasks=tasks):
        yield
