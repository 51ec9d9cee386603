"""Dhan's error bodies and status codes (REFERENCE §1.3–1.6), and the handlers that make every
failure of the emulator answer in one of them — never a bare 500 or FastAPI's own 422 shape.

Two shapes exist at Dhan:
- trading APIs: `{"errorType", "errorCode", "errorMessage"}` (orders, portfolio, charts ...);
- data APIs: `{"data": {"<code>": "<message>"}, "status": "failed"}` (market quote, option chain).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sarathi.common.logging import get_logger

log = get_logger(__name__)

ERROR_TYPES = {
    "DH-901": "Invalid_Authentication",
    "DH-902": "Invalid_Access",
    "DH-903": "User_Account",
    "DH-904": "Rate_Limit",
    "DH-905": "Input_Exception",
    "DH-906": "Order_Error",
    "DH-907": "Data_Error",
    "DH-908": "Internal_Server_Error",
    "DH-909": "Network_Error",
    "DH-910": "Others",
    "DH-911": "Invalid_IP",
}

DATA_MESSAGES = {
    800: "Internal Server Error",
    804: "Requested number of instruments exceeds limit",
    805: "Too many requests. Further requests may result in the user being blocked.",
    806: "Data APIs not subscribed",
    807: "Access token is expired",
    808: "Authentication Failed - Client ID or Access Token invalid",
    809: "Access token is invalid",
    810: "Client ID is invalid",
    811: "Invalid Expiry Date",
    812: "Invalid Date Format",
    813: "Invalid SecurityId",
    814: "Invalid Request",
}

# Paths answered in the data-error shape (everything else under /v2 uses the trading shape).
DATA_PATH_PREFIXES = ("/v2/marketfeed", "/v2/optionchain")


class DhanApiError(Exception):
    """An error answered exactly as Dhan would: HTTP status plus body."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(json.dumps(body))
        self.status = status
        self.body = body


def trading_error(status: int, code: str, message: str) -> DhanApiError:
    return DhanApiError(
        status, {"errorType": ERROR_TYPES.get(code, "Others"), "errorCode": code, "errorMessage": message}
    )


def data_error(status: int, code: int, message: str | None = None) -> DhanApiError:
    return DhanApiError(
        status, {"data": {str(code): message or DATA_MESSAGES.get(code, "")}, "status": "failed"}
    )


def is_data_path(path: str) -> bool:
    return path.startswith(DATA_PATH_PREFIXES)


def invalid_input(path: str, detail: str) -> DhanApiError:
    """Bad input for `path`, in the shape of the API family it belongs to."""
    if is_data_path(path):
        return data_error(400, 814, "Invalid Request")
    return trading_error(400, "DH-905", detail or "Missing required fields, bad values for parameters etc.")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DhanApiError)
    async def _dhan(_: Request, exc: DhanApiError) -> JSONResponse:
        return JSONResponse(exc.body, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        detail = f"{first.get('msg', 'invalid request')}{f': {where}' if where else ''}"
        error = invalid_input(request.url.path, detail)
        return JSONResponse(error.body, status_code=error.status)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:  # the gateway's shape for an unknown path (REFERENCE §1.3)
            body = {"status": 404, "error": "Not Found", "path": request.url.path}
            return JSONResponse(body, status_code=404)
        if exc.status_code == 405:
            error = trading_error(405, "DH-905", "Method not allowed")
            return JSONResponse(error.body, status_code=405)
        error = trading_error(exc.status_code, "DH-910", str(exc.detail))
        return JSONResponse(error.body, status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # A bug in the emulator: still answer in Dhan's shape, and say so loudly in the log.
        log.exception("sim_internal_error", path=request.url.path)
        error = trading_error(500, "DH-908", f"sim internal error: {type(exc).__name__}")
        return JSONResponse(error.body, status_code=500)
