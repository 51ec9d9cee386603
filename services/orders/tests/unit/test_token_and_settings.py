"""Token lifetime (scheduling, renewal, never logged), TOTP, and live-mode arming."""

from __future__ import annotations

import base64
import json
import math
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr, ValidationError

from sarathi.common.clock import FakeClock
from sarathi.common.metrics import ServiceMetrics
from sarathi.orders.backstops import TokenKeeper
from sarathi.orders.domain.token import TokenAction, TokenPolicy, jwt_expiry, next_check, token_action, totp
from sarathi.orders.metrics import OrdersMetrics
from sarathi.orders.settings import OrdersSettings, RenewalMethod

NOW = datetime(2026, 9, 15, 3, 45, tzinfo=UTC)
POLICY = TokenPolicy(renew_before=timedelta(hours=1), warn_before=timedelta(hours=3), can_renew=True)


def a_jwt(exp: datetime) -> str:
    def part(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{part({'alg': 'HS512'})}.{part({'exp': int(exp.timestamp()), 'dhanClientId': '1'})}.sig"


@pytest.mark.parametrize(
    ("left", "can_renew", "action"),
    [
        (timedelta(hours=5), True, TokenAction.NONE),
        (timedelta(hours=2), True, TokenAction.WARN),
        (timedelta(minutes=30), True, TokenAction.RENEW),
        (timedelta(minutes=30), False, TokenAction.WARN),
        (timedelta(seconds=-1), True, TokenAction.EXPIRED),
    ],
)
def test_the_token_is_renewed_inside_its_window_and_warned_about_before(
    left: timedelta, can_renew: bool, action: TokenAction
) -> None:
    policy = TokenPolicy(POLICY.renew_before, POLICY.warn_before, can_renew)

    assert token_action(NOW, NOW + left, policy) is action


def test_the_next_check_is_the_next_window_edge_within_bounds() -> None:
    assert next_check(NOW, NOW + timedelta(hours=3, minutes=10), POLICY) == timedelta(minutes=10)
    assert next_check(NOW, NOW + timedelta(hours=30), POLICY) == timedelta(hours=1)
    assert next_check(NOW, None, POLICY) == timedelta(hours=1)


def test_the_expiry_is_read_from_the_jwt() -> None:
    assert jwt_expiry(a_jwt(NOW)) == NOW
    assert jwt_expiry("sim-token") is None


def test_totp_matches_the_rfc_6238_test_vector() -> None:
    secret = base64.b32encode(b"12345678901234567890").decode()

    assert totp(secret, datetime.fromtimestamp(59, tz=UTC), digits=8) == "94287082"
    assert totp(secret, datetime.fromtimestamp(1111111109, tz=UTC), digits=8) == "07081804"


class FakeRenewer:
    def __init__(self) -> None:
        self.calls = 0

    async def renew(self) -> tuple[SecretStr, datetime | None]:
        self.calls += 1
        return SecretStr("new-secret-token"), NOW + timedelta(hours=24)


async def test_the_keeper_renews_hands_the_token_over_and_measures_the_time_left(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock(NOW)
    metrics = OrdersMetrics(ServiceMetrics("orders"))
    renewer, handed = FakeRenewer(), list[SecretStr]()
    keeper = TokenKeeper(
        token=SecretStr(a_jwt(NOW + timedelta(minutes=30))),
        expires_at=NOW + timedelta(minutes=30),
        policy=POLICY,
        clock=clock,
        metrics=metrics,
        renewer=renewer,
        on_renewed=handed.append,
    )

    assert await keeper.check() is TokenAction.RENEW

    assert renewer.calls == 1
    assert [t.get_secret_value() for t in handed] == ["new-secret-token"]
    assert keeper.current() == "new-secret-token"
    assert keeper.expires_at == NOW + timedelta(hours=24)
    seconds = metrics.service.registry.get_sample_value("sarathi_orders_token_expiry_seconds")
    assert seconds == pytest.approx(1800)
    assert "new-secret-token" not in caplog.text
    clock.advance(timedelta(hours=1))
    assert await keeper.check() is TokenAction.NONE


async def test_an_unknown_expiry_is_measured_as_nan() -> None:
    metrics = OrdersMetrics(ServiceMetrics("orders"))
    keeper = TokenKeeper(
        token=SecretStr("sim-token"), expires_at=None, policy=POLICY, clock=FakeClock(NOW), metrics=metrics
    )

    assert await keeper.check() is TokenAction.NONE
    assert math.isnan(metrics.service.registry.get_sample_value("sarathi_orders_token_expiry_seconds") or 0.0)


def test_live_mode_refuses_to_start_without_credentials_and_arming() -> None:
    with pytest.raises(ValidationError, match="SARATHI_LIVE_TRADING"):
        OrdersSettings(mode="live", dhan_client_id="1100000001", dhan_access_token=SecretStr("real"))
    with pytest.raises(ValidationError, match="needs SARATHI_DHAN_CLIENT_ID"):
        OrdersSettings(mode="live", live_trading="armed")

    live = {"mode": "live", "dhan_client_id": "1100000001", "dhan_access_token": SecretStr("real")}
    with pytest.raises(ValidationError, match="needs SARATHI_TOKEN_KEY"):
        OrdersSettings(**live, live_trading="armed")  # it renews: every service must learn the token
    armed = OrdersSettings(**live, live_trading="armed", token_key=SecretStr(Fernet.generate_key().decode()))
    assert armed.mode.value == "live"
    assert armed.renewal_method() is RenewalMethod.RENEW_TOKEN


def test_totp_renewal_is_refused_in_sim_mode_because_it_would_mint_a_real_token() -> None:
    totp = {"dhan_pin": SecretStr("123456"), "dhan_totp_secret": SecretStr("JBSWY3DPEHPK3PXP")}
    with pytest.raises(ValidationError, match="refused in sim mode"):
        OrdersSettings(**totp)
    paper = OrdersSettings(**totp, mode="paper", token_key=SecretStr(Fernet.generate_key().decode()))
    assert paper.renewal_method() is RenewalMethod.TOTP
    assert OrdersSettings().renewal_method() is RenewalMethod.RENEW_TOKEN  # sim: at the sim's RenewToken


def test_a_token_key_that_is_not_a_fernet_key_is_refused_with_how_to_make_one() -> None:
    with pytest.raises(ValidationError, match=r"Fernet\.generate_key"):
        OrdersSettings(token_key=SecretStr("not-a-key"))


async def test_the_app_is_built_without_connecting_and_its_kill_route_refuses_without_a_token() -> None:
    import httpx

    from sarathi.orders.app import build_app

    settings = OrdersSettings(
        nats_url="nats://127.0.0.1:1",
        database_url="postgresql://x@127.0.0.1:1/x",
        orders_control_token=SecretStr("operator-secret"),
    )
    app = build_app(settings)  # nothing connects until the lifespan runs
    body = {"kill_id": "k1", "reason": "test", "requested_by": "tester"}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://orders") as http:
        unauthorized = await http.post("/kill", json=body)
        wrong = await http.post("/kill", json=body, headers={"Authorization": "Bearer nope"})
        not_running = await http.post("/kill", json=body, headers={"Authorization": "Bearer operator-secret"})

    assert unauthorized.status_code == 401
    assert wrong.status_code == 401
    assert not_running.status_code == 503
