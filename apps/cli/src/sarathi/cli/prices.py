"""Where a report's prices came from: the first line of every report, the day's and a backtest's.

Three sources (issue #21): Dhan's history, a recording of the feed played back, or the synthetic
`sim` market. A synthetic market is a model of ours: its P&L says nothing about real profitability,
and the line says so. With real prices (Dhan's history, a recording) the fills are still ours.
A deployed day (`sarathi report`) says so by its mode: paper and live trade on Dhan's live feed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path

REPLAY_FILE_VARIABLE = "SARATHI_SIM_REPLAY_FILE"  # the sim plays this recording instead of its model


class PriceSource(StrEnum):
    DHAN = "dhan"  # Dhan's historical data (`sarathi data download --source dhan`)
    RECORDING = "recording"  # a recording of the market feed, played back
    SIM = "sim"  # the synthetic market of `sim`

    @classmethod
    def of(cls, name: str) -> PriceSource:
        """`dhan`, `recording`, `sim`, or one of them with a tail (`sim-seed20260915`: a cache's name)."""
        head = name.split("-", 1)[0].strip().lower()
        try:
            return cls(head)
        except ValueError:
            known = ", ".join(s.value for s in cls)
            raise ValueError(f"unknown price source {name!r} (one of {known}, or <one>-<name>)") from None


def prices_line(source: PriceSource, detail: str) -> str:
    """The first line of a report: where its prices came from, in words."""
    if source is PriceSource.SIM:
        return (
            f"Prices: the synthetic `sim` market ({detail}) — a synthetic market says nothing about "
            "real profitability."
        )
    fills = "real prices, simulated fills"
    if source is PriceSource.RECORDING:
        return f"Prices: a recording of the market feed, played back ({detail}) — {fills}."
    return f"Prices: Dhan's history ({detail}) — {fills}."


def sim_recording(env: Mapping[str, str], environ: Mapping[str, str] | None = None) -> str | None:
    """The recording a day's sim plays back, or None (its synthetic market).

    The sim reads `SARATHI_SIM_REPLAY_FILE` from the environment the supervisor gives it: this
    process's (`environ`, default `os.environ`) with the day's `env` over it.
    """
    merged = {**(os.environ if environ is None else environ), **env}
    return merged.get(REPLAY_FILE_VARIABLE) or None


def deployed_prices_line(mode: str, recording: str | None = None) -> str:
    """The first line of a deployed day's report (`sarathi report`), by the mode it traded in.

    paper and live: the live Dhan feed (paper's fills by the `sim` paper broker on those ticks,
    live's by Dhan); sim: the sim's synthetic market, or the recording it played (`recording`).
    """
    if mode == "live":
        return "Prices: the live Dhan feed (live mode) — real prices, real fills at Dhan."
    if mode == "paper":
        return (
            "Prices: the live Dhan feed (paper mode) — real prices, simulated fills (the `sim` paper broker)."
        )
    if recording is not None:
        return prices_line(PriceSource.RECORDING, Path(recording).name)
    return prices_line(PriceSource.SIM, f"{mode} mode")
