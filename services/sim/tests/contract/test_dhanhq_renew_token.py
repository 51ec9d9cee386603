"""`GET /v2/RenewToken` through the official client (`dhanhq.DhanLogin.renew_token`) and our
renewer: a new token works, the one it replaced reads expired on REST (DH-906 or DH-901 per
`sim_bad_token_style`), on the data APIs (807) and on the feed (807)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta

import pytest
from dhanhq.auth import DhanLogin
from pydantic import SecretStr
from starlette.datastructures import QueryParams

from sarathi.common.dhan.errors import DhanAuthError
from sarathi.common.dhan.rest import Category, DhanRest
from sarathi.orders.adapters.token_renewal import RenewTokenRenewer
from sarathi.orders.domain.token import jwt_expiry
from sarathi.sim.testing.harness import CLIENT_ID, TOKEN, SimPool, runtime_of
from sarathi.sim.testing.server import ServedSim
from sarathi.sim.ws.feed import TOKEN_EXPIRED, auth_failure


@pytest.fixture
def pool() -> Iterator[SimPool]:
    pool = SimPool()
    try:
        yield pool
    finally:
        pool.close()


def rest(sim: ServedSim, token: str) -> DhanRest:
    return DhanRest(client_id=CLIENT_ID, access_token=SecretStr(token), base_url=f"{sim.http_url}/v2")


def login(sim: ServedSim) -> DhanLogin:
    client = DhanLogin(CLIENT_ID)
    client.API_BASE_URL = f"{sim.http_url}/v2"
    return client


@pytest.mark.parametrize("reply", ["access_token", "token"])
async def test_our_renewer_gets_a_new_token_with_its_expiry_in_either_reply_shape(
    pool: SimPool, reply: str
) -> None:
    sim = pool.start(real=True, sim_renew_token_reply=reply)
    now = runtime_of(sim).controller.now()
    renewer = RenewTokenRenewer(CLIENT_ID, lambda: TOKEN, rest_url=f"{sim.http_url}/v2")

    token, expires_at = await renewer.renew()

    assert token.get_secret_value() == runtime_of(sim).credentials.access_token != TOKEN
    assert expires_at is not None
    assert timedelta(hours=23) < expires_at - now <= timedelta(hours=24, seconds=5)
    assert jwt_expiry(token.get_secret_value()) == expires_at


@pytest.mark.parametrize(("style", "code"), [("live", "DH-906"), ("docs", "DH-901")])
async def test_the_replaced_token_is_refused_everywhere_and_the_new_one_works(
    pool: SimPool, style: str, code: str
) -> None:
    sim = pool.start(real=True, sim_bad_token_style=style)
    body = await asyncio.to_thread(login(sim).renew_token, TOKEN)
    new = body["accessToken"]

    with pytest.raises(DhanAuthError, match=code):
        await rest(sim, TOKEN).call(
            Category.NON_TRADING, lambda sdk: sdk.get_fund_limits(), changes_state=False
        )
    with pytest.raises(DhanAuthError, match="807"):  # data APIs: "access token expired"
        await rest(sim, TOKEN).call(
            Category.OPTION_CHAIN, lambda sdk: sdk.expiry_list(13, "IDX_I"), changes_state=False
        )
    assert auth_failure(runtime_of(sim).credentials, _query(TOKEN)) == TOKEN_EXPIRED
    assert auth_failure(runtime_of(sim).credentials, _query(new)) is None
    funds = await rest(sim, new).call(
        Category.NON_TRADING, lambda sdk: sdk.get_fund_limits(), changes_state=False
    )
    assert isinstance(funds, dict)  # the new token is served
    with pytest.raises(Exception, match="Failed to renew token"):  # the SDK raises on a non-200
        await asyncio.to_thread(login(sim).renew_token, TOKEN)  # a dead token cannot renew


def _query(token: str) -> QueryParams:
    return QueryParams({"clientId": CLIENT_ID, "token": token})
