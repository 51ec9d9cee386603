import pytest

from sarathi.common.domain.instruments import (
    ExchangeSegment,
    Lots,
    QuantityError,
    Underlying,
    underlying_by_index_id,
)


@pytest.mark.parametrize(
    ("wire", "code"),
    [
        ("IDX_I", 0),
        ("NSE_EQ", 1),
        ("NSE_FNO", 2),
        ("NSE_CURRENCY", 3),
        ("BSE_EQ", 4),
        ("MCX_COMM", 5),
        ("BSE_CURRENCY", 7),
        ("BSE_FNO", 8),
    ],
)
def test_segment_names_and_feed_codes_match_dhan(wire: str, code: int) -> None:
    assert ExchangeSegment.from_wire(wire) is ExchangeSegment.from_code(code)


def test_segment_code_six_is_unassigned() -> None:
    with pytest.raises(ValueError, match="code 6"):
        ExchangeSegment.from_code(6)


def test_underlyings_carry_their_index_ids_and_fno_segments() -> None:
    assert Underlying.NIFTY.spec.security_id == "13"
    assert Underlying.BANKNIFTY.spec.security_id == "25"
    assert Underlying.SENSEX.spec.fno_segment is ExchangeSegment.BSE_FNO
    assert underlying_by_index_id("51") is Underlying.SENSEX
    assert underlying_by_index_id("47317") is None


def test_quantities_are_whole_lots() -> None:
    assert Lots(3, 65).units == 195
    assert Lots.from_units(130, 65) == Lots(2, 65)
    with pytest.raises(QuantityError, match="whole number of lots"):
        Lots.from_units(100, 65)
    with pytest.raises(QuantityError):
        Lots(-1, 65)
