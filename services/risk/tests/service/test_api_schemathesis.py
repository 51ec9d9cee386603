"""Schema fuzz of the operator API with schemathesis: cases generated from the app's own OpenAPI
(valid and invalid bodies, with and without the token) never get a 5xx.

Needs `schemathesis` in the dev group; skipped until it is installed. The cases are sent through
httpx's ASGI transport inside the running (in-memory) service rather than by `case.call`, so the
service's event loop serves them.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from sarathi.common.web import protect
from sarathi.risk.api import build_router

from .support import TOKEN, risk_running

schemathesis = pytest.importorskip("schemathesis")


def _schema(app: FastAPI) -> Any:
    loader = getattr(getattr(schemathesis, "openapi", None), "from_dict", None) or schemathesis.from_dict
    return loader(app.openapi())


def _operations(schema: Any) -> list[Any]:
    found = []
    for result in schema.get_all_operations():
        operation = result.ok() if hasattr(result, "ok") else result
        found.append(operation)
    return found


def _app_for(service: Any) -> FastAPI:
    app = FastAPI()
    protect(app, SecretStr(TOKEN))
    app.include_router(build_router(lambda: service, "fuzzer"))
    return app


async def test_schema_fuzz_of_the_control_api_finds_no_5xx() -> None:
    async with risk_running() as rig:
        app = _app_for(rig.service)
        schema = _schema(app)
        strategy = st.one_of(*(operation.as_strategy() for operation in _operations(schema)))
        transport = httpx.ASGITransport(app=app)
        cases: list[Any] = []

        @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=strategy)
        def collect(case: Any) -> None:
            cases.append(case)

        collect()
        async with httpx.AsyncClient(transport=transport, base_url="http://risk") as client:
            for index, case in enumerate(cases):
                headers = dict(case.headers or {})
                if index % 2 == 0:
                    headers["Authorization"] = f"Bearer {TOKEN}"
                path = getattr(case, "formatted_path", None) or case.path
                kwargs: dict[str, Any] = {"headers": headers, "params": case.query or None}
                body = case.body
                if body is not None and type(body).__name__ != "NotSet":
                    kwargs["json"] = body
                reply = await client.request(case.method, path, **kwargs)
                assert reply.status_code < 500, (case.method, path, kwargs, reply.text)
                if "Authorization" not in headers and case.method.upper() == "POST":
                    assert reply.status_code == 401
