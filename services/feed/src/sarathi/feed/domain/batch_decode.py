"""Decode many Dhan feed frames at once, column-wise with numpy (the feed's hot path).

The layouts are numpy structured dtypes derived from the table of `sarathi.common.dhan.feed_codec`
(REFERENCE §6.5), the codec's own source. A batch is the list
of frames one socket read delivered. Walking: every frame starts with a packet; a packet's
length field gives the next one, so the walk is vectorised over frames and iterates only as
many times as the longest frame has packets. Then each packet kind is gathered into one array
and converted at once: float32 prices to integer paise (`rint(value × 100)`, exactly what
`feed_codec.to_paise` does), IST-shifted LTT to the true UTC epoch.

Same rules as `FeedDecoder`: unknown codes are counted and skipped, a truncated packet is
counted and ends the walk of its frame, and a packet with a non-finite or negative price is
counted as invalid and skipped. Nothing raises on bad input. Within one batch, packets of one
kind keep their order; kinds are returned separately (an instrument has one mode, so one kind).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from sarathi.common.dhan import feed_codec as codec


def _dtype(code: codec.FeedCode) -> np.dtype[Any]:
    return np.dtype([(name, "<" + kind) for name, kind in codec.layout(code)])


LAYOUTS: dict[int, np.dtype[Any]] = {
    code: _dtype(code) for code in codec.BODIES if code is not codec.FeedCode.MARKET_STATUS
}  # market status: counted, not decoded
PRICE_FIELDS: dict[int, tuple[str, ...]] = {
    code: prices
    for code in codec.BODIES
    if code in LAYOUTS
    and (prices := tuple(name for name, kind in codec.layout(code) if kind == codec.PRICE_KIND))
}
_MAX_PAISE = float(2**62)
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class _Group:
    """Same-typed fields of one layout, gathered in one fancy-index as a 2-D array."""

    kind: str  # numpy type of each field
    names: tuple[str, ...]
    byte_index: npt.NDArray[np.intp]


@dataclass(frozen=True)
class _Plan:
    dtype: np.dtype[Any]
    prices: _Group | None
    integers: tuple[_Group, ...]


def _plan(code: int, dtype: np.dtype[Any]) -> _Plan:
    fields: dict[str, Any] = dict(dtype.fields or {})
    prices = PRICE_FIELDS.get(code, ())
    by_kind: dict[str, list[str]] = {}
    for name in dtype.names or ():
        if name not in prices and name not in ("code", "length"):
            by_kind.setdefault(fields[name][0].str, []).append(name)

    def group(kind: str, names: tuple[str, ...]) -> _Group:
        width = np.dtype(kind).itemsize
        index = np.concatenate([fields[n][1] + np.arange(width) for n in names]).astype(np.intp)
        return _Group(kind, names, index)

    return _Plan(
        dtype,
        group("<" + codec.PRICE_KIND, prices) if prices else None,
        tuple(group(kind, tuple(names)) for kind, names in by_kind.items()),
    )


_PLANS = {code: _plan(code, dtype) for code, dtype in LAYOUTS.items()}


@dataclass
class Columns:
    """One packet kind of a batch: integer columns by field name (prices already in paise)."""

    count: int
    _arrays: list[IntArray]
    _where: dict[str, tuple[int, int]]

    def __getitem__(self, name: str) -> IntArray:
        array, column = self._where[name]
        return self._arrays[array][:, column]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._where)


@dataclass
class DecodedBatch:
    kinds: dict[int, Columns] = field(default_factory=dict)
    packets: int = 0

    def get(self, code: int) -> Columns | None:
        return self.kinds.get(code)


@dataclass
class BatchDecoder:
    """Counters as in `FeedDecoder`, plus packets refused for an invalid price."""

    unknown_packets: int = 0
    truncated_packets: int = 0
    invalid_packets: int = 0
    heartbeats: int = 0
    market_status: int = 0

    @property
    def errors(self) -> int:
        return self.unknown_packets + self.truncated_packets + self.invalid_packets

    def decode(self, frames: Sequence[bytes]) -> DecodedBatch:
        if not frames:
            return DecodedBatch()
        buf = np.frombuffer(b"".join(frames), dtype=np.uint8)
        offsets, codes = self._walk(buf, np.fromiter(map(len, frames), dtype=np.int64, count=len(frames)))
        batch = DecodedBatch()
        for code in np.unique(codes).tolist():
            chosen = offsets[codes == code]
            dtype = LAYOUTS.get(code)
            if dtype is None:
                self._count_other(code, len(chosen))
                continue
            lengths = buf[chosen + 1].astype(np.int64) | (buf[chosen + 2].astype(np.int64) << 8)
            fits = lengths >= dtype.itemsize
            self.truncated_packets += int(len(chosen) - fits.sum())
            columns = self._columns(code, buf, chosen[fits], dtype)
            if columns.count:
                batch.kinds[code] = columns
                batch.packets += columns.count
        return batch

    def _count_other(self, code: int, count: int) -> None:
        if code == codec.FeedCode.HEARTBEAT:
            self.heartbeats += count
        elif code == codec.FeedCode.MARKET_STATUS:
            self.market_status += count
        else:
            self.unknown_packets += count

    def _walk(self, buf: npt.NDArray[np.uint8], sizes: IntArray) -> tuple[IntArray, IntArray]:
        """Offsets and codes of every complete packet, in buffer order (frame order, then within)."""
        ends = np.cumsum(sizes)
        pos = ends - sizes
        found_offsets: list[IntArray] = []
        found_codes: list[IntArray] = []
        live = sizes > 0
        pos, ends = pos[live], ends[live]
        while len(pos):
            room = ends - pos
            short = room < codec.HEADER.size
            self.truncated_packets += int(short.sum())
            pos, ends = pos[~short], ends[~short]
            length = buf[pos + 1].astype(np.int64) | (buf[pos + 2].astype(np.int64) << 8)
            bad = (length < codec.HEADER.size) | (pos + length > ends)
            self.truncated_packets += int(bad.sum())
            good = ~bad
            pos, ends, length = pos[good], ends[good], length[good]
            found_offsets.append(pos)
            found_codes.append(buf[pos].astype(np.int64))
            pos = pos + length
            more = pos < ends
            pos, ends = pos[more], ends[more]
        if not found_offsets:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        offsets, codes = np.concatenate(found_offsets), np.concatenate(found_codes)
        if len(found_offsets) > 1:  # several packets in some frame: restore buffer order
            order = np.argsort(offsets, kind="stable")
            offsets, codes = offsets[order], codes[order]
        return offsets, codes

    def _columns(
        self, code: int, buf: npt.NDArray[np.uint8], offsets: IntArray, dtype: np.dtype[Any]
    ) -> Columns:
        plan = _PLANS[code]
        raw = buf[offsets[:, None] + np.arange(dtype.itemsize)]
        arrays: list[IntArray] = []
        where: dict[str, tuple[int, int]] = {}
        valid: npt.NDArray[np.bool_] | None = None
        if plan.prices is not None:
            prices = np.ascontiguousarray(raw[:, plan.prices.byte_index])
            floats = prices.view(plan.prices.kind).astype(np.float64)
            with np.errstate(all="ignore"):
                scaled = np.rint(floats * 100.0)
                ok = np.isfinite(scaled) & (scaled >= 0) & (scaled < _MAX_PAISE)
                valid = np.asarray(ok.all(axis=1), dtype=np.bool_)
                arrays.append(np.where(ok, scaled, 0).astype(np.int64))
            where.update((name, (0, j)) for j, name in enumerate(plan.prices.names))
        for group in plan.integers:
            values = np.ascontiguousarray(raw[:, group.byte_index]).view(group.kind).astype(np.int64)
            if "ltt" in group.names:
                j = group.names.index("ltt")
                ltt = values[:, j]
                values[:, j] = np.where(ltt != 0, ltt - codec.IST_SHIFT_SECONDS, 0)
            where.update((name, (len(arrays), j)) for j, name in enumerate(group.names))
            arrays.append(values)
        count = len(offsets)
        if valid is not None and not valid.all():
            self.invalid_packets += int(count - valid.sum())
            arrays = [array[valid] for array in arrays]
            count = int(valid.sum())
        return Columns(count, arrays, where)
