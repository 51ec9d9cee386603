"""The feed codec against REFERENCE §6.9's test vectors, round trips, and random bytes."""

from hypothesis import given
from hypothesis import strategies as st

from sarathi.common.dhan.feed_codec import (
    BODIES,
    PACKET_SIZES,
    DepthLevel,
    Disconnect,
    FeedCode,
    FeedDecoder,
    Full,
    MarketStatus,
    OpenInterest,
    PrevClose,
    Quote,
    Ticker,
    encode,
    layout,
    struct_of,
)

# 2026-09-15 10:00:05 IST = true epoch 1789446605, sent as 1789466405.
TEN_AM_EPOCH = 1789446605

TICKER_HEX = "02 10 00 00 0d 00 00 00 b3 d8 c1 46 25 17 a9 6a"
PREV_CLOSE_HEX = "06 10 00 02 d5 b8 00 00 33 33 e3 40 41 09 33 00"
OI_HEX = "05 0c 00 02 d5 b8 00 00 31 b4 2e 00"
QUOTE_HEX = (
    "04 32 00 02 d5 b8 00 00 00 00 60 40 41 00 25 17 a9 6a 14 ae 87 40 cd 16 1d 04 60 c5 1b 00 60 e3 16 00"
    " 00 00 e0 40 00 00 00 00 cd cc ec 40 33 33 43 40"
)
DISCONNECT_HEX = "32 0a 00 00 00 00 00 00 25 03"


def _bytes(hex_text: str) -> bytes:
    return bytes.fromhex(hex_text.replace(" ", ""))


def test_reference_ticker_decodes_to_paise_and_true_utc_time() -> None:
    assert FeedDecoder().decode(_bytes(TICKER_HEX)) == [Ticker(0, 13, 2481235, TEN_AM_EPOCH)]


def test_reference_prev_close_oi_and_disconnect_decode() -> None:
    decoder = FeedDecoder()
    assert decoder.decode(_bytes(PREV_CLOSE_HEX)) == [PrevClose(2, 47317, 710, 3344705)]
    assert decoder.decode(_bytes(OI_HEX)) == [OpenInterest(2, 47317, 3060785)]
    assert decoder.decode(_bytes(DISCONNECT_HEX)) == [Disconnect(0, 0, 805)]


def test_reference_quote_decodes_every_field() -> None:
    (quote,) = FeedDecoder().decode(_bytes(QUOTE_HEX))
    assert quote == Quote(2, 47317, 350, 65, TEN_AM_EPOCH, 424, 69015245, 1820000, 1500000, 700, 0, 740, 305)


def test_encoding_reproduces_the_reference_bytes() -> None:
    assert encode(Ticker(0, 13, 2481235, TEN_AM_EPOCH)) == _bytes(TICKER_HEX)
    assert encode(PrevClose(2, 47317, 710, 3344705)) == _bytes(PREV_CLOSE_HEX)
    assert encode(OpenInterest(2, 47317, 3060785)) == _bytes(OI_HEX)
    assert encode(
        Quote(2, 47317, 350, 65, TEN_AM_EPOCH, 424, 69015245, 1820000, 1500000, 700, 0, 740, 305)
    ) == (_bytes(QUOTE_HEX))
    assert encode(Disconnect(0, 0, 805)) == _bytes(DISCONNECT_HEX)


def a_full_packet(ltp_paise: int = 11235) -> Full:
    depth = tuple(
        DepthLevel(1300 + i, 975 + i, 5, 4, ltp_paise - 5 * (i + 1), ltp_paise + 5 * (i + 1))
        for i in range(5)
    )
    return Full(
        2, 47317, ltp_paise, 65, TEN_AM_EPOCH, 11872, 104560340, 900000, 1100000,
        4123450, 4200000, 3900000, 13110, 0, 13500, 10500, depth,
    )  # fmt: skip


def test_several_packets_in_one_frame_are_all_decoded_in_order() -> None:
    frame = encode(PrevClose(2, 47317, 710, 1)) + encode(a_full_packet()) + encode(MarketStatus(0, 0))
    decoder = FeedDecoder()
    packets = decoder.decode(frame)
    assert packets == [PrevClose(2, 47317, 710, 1), a_full_packet(), MarketStatus(0, 0)]
    assert decoder.truncated_packets == decoder.unknown_packets == 0


def test_a_truncated_packet_is_counted_and_what_came_before_is_kept() -> None:
    frame = encode(Ticker(0, 13, 2481235, TEN_AM_EPOCH)) + encode(a_full_packet())[:100]
    decoder = FeedDecoder()
    assert decoder.decode(frame) == [Ticker(0, 13, 2481235, TEN_AM_EPOCH)]
    assert decoder.truncated_packets == 1


def test_an_unknown_packet_code_is_counted_and_skipped() -> None:
    unknown = bytes([99, 12, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0])
    decoder = FeedDecoder()
    assert decoder.decode(unknown + encode(OpenInterest(2, 1, 5))) == [OpenInterest(2, 1, 5)]
    assert decoder.unknown_packets == 1


# float32 holds every paisa exactly below ₹131,072 (2^17); the codec's documented range.
tick_paise = st.integers(min_value=0, max_value=13_107_100).map(lambda n: n - n % 5)
epochs = st.integers(min_value=1_700_000_000, max_value=1_900_000_000)


@given(tick_paise, epochs, st.integers(0, 2**31 - 1))
def test_ticker_round_trips_exactly_for_every_tick_price(ltp: int, epoch: int, security_id: int) -> None:
    packet = Ticker(2, security_id, ltp, epoch)
    assert FeedDecoder().decode(encode(packet)) == [packet]


@given(tick_paise.filter(lambda p: 100 <= p <= 13_000_000))
def test_full_packet_round_trips(ltp: int) -> None:
    packet = a_full_packet(ltp)
    assert FeedDecoder().decode(encode(packet)) == [packet]


@given(st.binary(max_size=600))
def test_random_bytes_never_raise(frame: bytes) -> None:
    FeedDecoder().decode(frame)


@given(
    st.lists(st.sampled_from([TICKER_HEX, QUOTE_HEX, OI_HEX, PREV_CLOSE_HEX]), min_size=1, max_size=5),
    st.data(),
)
def test_any_truncation_of_a_valid_frame_never_raises(parts: list[str], data: st.DataObject) -> None:
    frame = b"".join(_bytes(p) for p in parts)
    cut = data.draw(st.integers(0, len(frame)))
    decoder = FeedDecoder()
    packets = decoder.decode(frame[:cut])
    assert len(packets) + decoder.truncated_packets >= (1 if cut else 0)


def test_the_layout_table_gives_the_documented_formats_of_every_packet() -> None:
    """REFERENCE §6.5: the struct formats and sizes Dhan documents, derived from the one table."""
    documented = {
        FeedCode.TICKER: "<BHBIfI", FeedCode.PREV_CLOSE: "<BHBIfI", FeedCode.OI: "<BHBII",
        FeedCode.QUOTE: "<BHBIfHIfIIIffff", FeedCode.FULL: "<BHBIfHIfIIIIIIffff" + "IIHHff" * 5,
        FeedCode.MARKET_STATUS: "<BHBI", FeedCode.DISCONNECT: "<BHBIH",
    }  # fmt: skip
    assert {code: struct_of(layout(code)).format for code in BODIES} == documented
    assert {code: PACKET_SIZES[code] for code in (2, 4, 5, 6, 8)} == {2: 16, 4: 50, 5: 12, 6: 16, 8: 162}
