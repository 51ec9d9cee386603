import io
import json

from pydantic import SecretStr

from sarathi.common.logging import bound, configure_logging, get_logger, redact_text


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line]


def test_log_lines_are_json_with_service_and_bound_correlation_id() -> None:
    out = io.StringIO()
    configure_logging("risk", stream=out)
    with bound(correlation_id="sig-NIFTY-1", message_id="m1"):
        get_logger("t").info("exit_triggered", pnl="1520.00")
    get_logger("t").info("after")
    first, second = _lines(out)
    assert first["event"] == "exit_triggered"
    assert first["service"] == "risk"
    assert first["correlation_id"] == "sig-NIFTY-1"
    assert "correlation_id" not in second


def test_feed_url_token_never_reaches_the_log() -> None:
    out = io.StringIO()
    configure_logging("feed", stream=out)
    url = "wss://api-feed.dhan.co?version=2&token=eyJhbGciOi.secret.part&clientId=1000000001&authType=2"
    get_logger("t").warning("connecting %s", url, url=url, access_token=SecretStr("x"), headers={"a": 1})
    text = out.getvalue()
    assert "eyJhbGciOi" not in text
    assert "clientId=1000000001" in text


def test_redact_text_masks_headers_and_json_fields() -> None:
    assert "abc123" not in redact_text('{"access-token": "abc123", "x": 1}')
    assert "abc123" not in redact_text("Authorization: Bearer abc123")
    assert redact_text("no secrets here") == "no secrets here"
