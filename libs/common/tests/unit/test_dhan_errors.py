"""How the REST adapter reads Dhan's replies: the error taxonomy decides what the caller does."""

import pytest

from sarathi.common.dhan.errors import (
    DhanAuthError,
    DhanIpRefusedError,
    DhanNotFoundError,
    DhanRateLimitedError,
    DhanRejectedError,
    DhanTransientError,
    DhanUnknownOutcomeError,
    RawReply,
    classify,
)


def trading(status: int, code: str, message: str) -> RawReply:
    return RawReply(status, {"errorType": "x", "errorCode": code, "errorMessage": message})


def data(status: int, code: str, message: str = "m") -> RawReply:
    return RawReply(status, {"data": {code: message}, "status": "failed"})


def test_a_2xx_reply_is_a_success() -> None:
    assert classify(RawReply(200, {"orderId": "1", "orderStatus": "TRANSIT"}), changes_state=True) is None
    assert classify(RawReply(200, []), changes_state=False) is None


def test_a_data_error_inside_a_200_is_still_an_error() -> None:
    error = classify(data(200, "806", "Data APIs not subscribed"), changes_state=False)
    assert isinstance(error, DhanRejectedError)
    assert error.code == "806"


@pytest.mark.parametrize(
    "reply",
    [
        trading(400, "DH-906", "Invalid Token"),
        trading(401, "DH-901", "Client ID or user generated access token is invalid or expired."),
        data(401, "808"),
        data(200, "807"),
    ],
)
def test_token_failures_are_auth_errors(reply: RawReply) -> None:
    assert isinstance(classify(reply, changes_state=True), DhanAuthError)


@pytest.mark.parametrize(
    "reply",
    [
        trading(400, "DH-911", "Invalid IP"),  # the docs' annexure, since the static-IP rule
        trading(400, "DH-905", "Invalid IP"),  # older live replies
    ],
)
def test_an_ip_not_whitelisted_is_a_final_refusal_never_an_auth_failure_to_retry(reply: RawReply) -> None:
    error = classify(reply, changes_state=True)

    assert isinstance(error, DhanIpRefusedError)
    assert isinstance(error, DhanRejectedError)  # recorded as rejected, never retried
    assert not isinstance(error, DhanAuthError)


def test_other_dh_905_is_a_plain_rejection() -> None:
    error = classify(trading(400, "DH-905", "Missing required fields"), changes_state=True)
    assert type(error) is DhanRejectedError


def test_other_dh_906_is_a_rejection_not_an_auth_failure() -> None:
    error = classify(trading(400, "DH-906", "Order is in Transit state"), changes_state=True)
    assert type(error) is DhanRejectedError


def test_rate_limits_are_transient_for_orders_and_data() -> None:
    assert isinstance(
        classify(trading(429, "DH-904", "Too many requests"), changes_state=True), DhanRateLimitedError
    )
    assert isinstance(classify(data(429, "805"), changes_state=False), DhanRateLimitedError)


def test_a_timeout_on_an_order_call_has_an_unknown_outcome_but_on_a_read_is_transient() -> None:
    timeout = RawReply(None, None, transport_error="HTTPConnectionPool: Read timed out. (read timeout=5)")
    assert isinstance(classify(timeout, changes_state=True), DhanUnknownOutcomeError)
    assert type(classify(timeout, changes_state=False)) is DhanTransientError


def test_a_refused_connection_never_reached_the_broker_so_is_safe_to_retry() -> None:
    refused = RawReply(
        None, None, transport_error="Max retries exceeded (NewConnectionError: Connection refused)"
    )
    assert type(classify(refused, changes_state=True)) is DhanTransientError


def test_a_server_error_on_an_order_call_has_an_unknown_outcome() -> None:
    assert isinstance(
        classify(trading(500, "DH-908", "Internal"), changes_state=True), DhanUnknownOutcomeError
    )
    assert type(classify(trading(500, "DH-908", "Internal"), changes_state=False)) is DhanTransientError


def test_an_unknown_correlation_id_is_not_found() -> None:
    assert isinstance(
        classify(trading(404, "DH-906", "no such order"), changes_state=False), DhanNotFoundError
    )


def test_input_errors_are_rejections() -> None:
    error = classify(trading(400, "DH-905", "Missing required fields"), changes_state=True)
    assert type(error) is DhanRejectedError
    assert error.code == "DH-905"
