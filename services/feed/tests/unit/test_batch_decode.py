"""The numpy batch decoder agrees with the shared codec, and never raises on garbage."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sarathi.common.dhan import feed_codec as codec
from sarathi.feed.domain.batch_decode import BatchDecoder

PAISE = st.integers(0, 5_000_000)
U32 = st.integers(0, 2**32 - 1)
EPOCH = st.integers(1_700_000_000, 1_900_000_000)
IDS = st.tuples(st.sampled_from([0, 1, 2, 8]), st.integers(0, 2**31))

TICKERS = st.builds(lambda i, p, t: codec.Ticker(*i, p, t), IDS, PAISE, EPOCH)
QUOTES = st.builds(
    lambda i, p, q, t, v: codec.Quote(*i, p, q, t, p, v, v, v, p, 0, p, p),
    IDS,
    PAISE,
    st.integers(0, 65535),
    EPOCH,
    U32,
)
FULLS = st.builds(
    lambda i, p, t, v: codec.Full(
        *i, p, 65, t, p, v, v, v, v, v, v, p, 0, p, p,
        tuple(codec.DepthLevel(v, v, 3, 4, p + k, p + 2 * k) for k in range(5)),
    ),
    IDS, PAISE, EPOCH, U32,
)  # fmt: skip
OTHERS = st.one_of(
    st.builds(lambda i, o: codec.OpenInterest(*i, o), IDS, U32),
    st.builds(lambda i, p, o: codec.PrevClose(*i, p, o), IDS, PAISE, U32),
    st.builds(lambda r: codec.Disconnect(0, 0, r), st.integers(800, 815)),
)
PACKETS = st.one_of(TICKERS, QUOTES, FULLS, OTHERS)


def _as_rows(decoded: Any) -> dict[int, list[dict[str, int]]]:
    out: dict[int, list[dict[str, int]]] = {}
    for code, columns in decoded.kinds.items():
        names = columns.names
        values = [columns[n].tolist() for n in names]
        out[code] = [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]
    return out


@settings(max_examples=200)
@given(st.lists(st.lists(PACKETS, min_size=1, max_size=4), min_size=1, max_size=20))
def test_batch_decoding_agrees_with_the_codec_on_every_field(
    frames_of_packets: list[list[codec.Packet]],
) -> None:
    frames = [b"".join(codec.encode(p) for p in packets) for packets in frames_of_packets]
    rows = _as_rows(BatchDecoder().decode(frames))
    expected = [p for f in frames for p in codec.FeedDecoder().decode(f)]
    for code, kind in ((2, codec.Ticker), (4, codec.Quote), (8, codec.Full), (5, codec.OpenInterest)):
        mine = rows.get(code, [])
        theirs = [p for p in expected if isinstance(p, kind)]
        assert len(mine) == len(theirs)
        for row, packet in zip(mine, theirs, strict=True):
            assert (row["segment"], row["security_id"]) == (packet.segment, packet.security_id)
            if isinstance(packet, codec.Ticker | codec.Quote | codec.Full):
                assert (row["ltp"], row["ltt"]) == (packet.ltp_paise, packet.ltt_epoch)
            if isinstance(packet, codec.Quote | codec.Full):
                assert (row["ltq"], row["volume"], row["atp"], row["low"]) == (
                    packet.ltq, packet.volume, packet.atp_paise, packet.low_paise,
                )  # fmt: skip
            if isinstance(packet, codec.Full):
                assert (row["oi"], row["oi_high"], row["buy_qty"]) == (
                    packet.oi,
                    packet.oi_day_high,
                    packet.total_buy_qty,
                )
                for level, depth in enumerate(packet.depth):
                    assert (row[f"bid{level}"], row[f"ask{level}"], row[f"bid_qty{level}"]) == (
                        depth.bid_paise, depth.ask_paise, depth.bid_qty,
                    )  # fmt: skip
            if isinstance(packet, codec.OpenInterest):
                assert row["oi"] == packet.oi


def test_several_packets_of_one_instrument_keep_their_order_across_frames() -> None:
    a, b, c = (codec.encode(codec.Ticker(2, 7, 100 * k, 1_800_000_000 + k)) for k in (1, 2, 3))
    decoded = BatchDecoder().decode([a + b, c])
    ticker = decoded.get(codec.FeedCode.TICKER)
    assert ticker is not None
    assert ticker["ltp"].tolist() == [100, 200, 300]


@settings(max_examples=500)
@given(st.lists(st.binary(max_size=400), max_size=8))
def test_random_bytes_never_raise(frames: list[bytes]) -> None:
    decoder = BatchDecoder()
    decoder.decode(frames)
    assert decoder.errors >= 0


@settings(max_examples=300)
@given(st.lists(PACKETS, min_size=1, max_size=6), st.data())
def test_truncated_frames_are_counted_and_never_raise(
    packets: list[codec.Packet], data: st.DataObject
) -> None:
    encoded = [codec.encode(p) for p in packets]
    frame = b"".join(encoded)
    boundaries = {sum(len(e) for e in encoded[:k]) for k in range(len(encoded) + 1)}
    cut = data.draw(st.integers(0, len(frame) - 1))
    decoder = BatchDecoder()
    decoded = decoder.decode([frame[:cut]])
    assert decoded.packets < len(packets)
    assert decoder.truncated_packets == (0 if cut in boundaries else 1)


def test_unknown_codes_and_heartbeats_are_counted_and_skipped() -> None:
    decoder = BatchDecoder()
    unknown = bytes([99, 8, 0, 0, 0, 0, 0, 0])
    heartbeat = bytes([0, 8, 0, 0, 0, 0, 0, 0])
    ticker = codec.encode(codec.Ticker(0, 13, 2481235, 1_800_000_000))
    decoded = decoder.decode([unknown + ticker, heartbeat])
    assert decoded.packets == 1
    assert (decoder.unknown_packets, decoder.heartbeats) == (1, 1)


def test_non_finite_prices_are_refused_as_invalid() -> None:
    nan_ticker = bytes.fromhex("0210000001000000") + bytes.fromhex("0000c07f") + (1).to_bytes(4, "little")
    decoder = BatchDecoder()
    assert decoder.decode([nan_ticker]).packets == 0
    assert decoder.invalid_packets == 1
