import pytest
from pydantic import ValidationError

from sarathi.common.settings import Mode, SarathiSettings


def test_defaults_need_no_configuration_and_are_sim_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NATS_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    settings = SarathiSettings()
    assert settings.mode is Mode.SIM
    assert settings.nats_url == "nats://127.0.0.1:4222"


def test_conventional_infrastructure_urls_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NATS_URL", "nats://10.0.0.5:4222")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db:5432/x")
    settings = SarathiSettings()
    assert settings.nats_url == "nats://10.0.0.5:4222"
    assert settings.sqlalchemy_url == "postgresql+psycopg://u@db:5432/x"


def test_settings_are_frozen() -> None:
    settings = SarathiSettings()
    with pytest.raises(ValidationError):
        settings.mode = Mode.LIVE  # type: ignore[misc]


def test_live_mode_refuses_to_start_without_the_arming_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SARATHI_MODE", "live")
    monkeypatch.setenv("SARATHI_DHAN_ACCESS_TOKEN", "real-token")
    with pytest.raises(ValidationError, match="SARATHI_LIVE_TRADING=armed"):
        SarathiSettings()
    monkeypatch.setenv("SARATHI_LIVE_TRADING", "armed")
    assert SarathiSettings().mode is Mode.LIVE


def test_live_mode_refuses_to_start_without_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SARATHI_MODE", "live")
    monkeypatch.setenv("SARATHI_LIVE_TRADING", "armed")
    with pytest.raises(ValidationError, match="needs SARATHI_DHAN_CLIENT_ID and SARATHI_DHAN_ACCESS_TOKEN"):
        SarathiSettings()


def test_the_access_token_is_not_shown_in_repr() -> None:
    assert "sim-token" not in repr(SarathiSettings())


def test_effective_state_is_reconciling_until_orders_has_reconciled_but_halted_wins() -> None:
    from sarathi.common.domain.control import TradingState, effective_state

    assert effective_state(TradingState.ACTIVE, reconciled=False) is TradingState.RECONCILING
    assert effective_state(TradingState.PAUSED, reconciled=False) is TradingState.RECONCILING
    assert effective_state(TradingState.HALTED, reconciled=False) is TradingState.HALTED
    assert effective_state(TradingState.ACTIVE, reconciled=True) is TradingState.ACTIVE


def test_the_reconciliation_record_round_trips_and_says_when_it_was_reconciled() -> None:
    from datetime import UTC, datetime

    from sarathi.common.domain.control import ReconciliationRecord, ReconciliationStatus, is_reconciled

    at = datetime(2026, 9, 15, 4, tzinfo=UTC)
    record = ReconciliationRecord(
        status=ReconciliationStatus.DONE, reconciled=True, reason="ok", at=at, last_success_at=at
    )

    assert ReconciliationRecord.decode(record.encode()) == record
    assert is_reconciled(record)
    assert not is_reconciled(record, since=datetime(2026, 9, 15, 5, tzinfo=UTC))
    assert not is_reconciled(None)
