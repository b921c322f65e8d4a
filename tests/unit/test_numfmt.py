"""Numbers for people: plain decimals, never scientific notation."""

import math

from mlops_ci.numfmt import at_precision, readable, significant


def test_significant_digits_are_plain_and_grouped():
    assert significant(5e7) == "50,000,000" and significant(50_000_000) == "50,000,000"
    assert significant(4.82898e-05) == "0.0000482898" and significant(0.760444) == "0.760444"
    assert significant(-34579) == "-34,579" and significant(0.0) == "0" and significant(-1e-30) == "≈ 0"
    assert significant(None) == "—" and significant(True) == "true" and significant(math.nan) == "NaN"


def test_precision_never_hides_a_real_change():
    assert at_precision(0.98337529, 4) == "0.9834" and at_precision(4.82898e-05, 4, signed=True) == "+0.00005"
    assert at_precision(-0.0181, 4, signed=True) == "-0.0181" and at_precision(150764.0, 4) == "150,764"
    assert at_precision(0.0, 4, signed=True) == "0" and at_precision(2.0, 0) == "2"


def test_readable_keeps_room_in_tables():
    assert readable(1670.4) == "1,670" and readable(0.000123) == "0.000123"
    assert readable(1.23e160) == "1.23 × 10¹⁶⁰" and readable(-3.2e-9) == "-3.2 × 10⁻⁹"
    for value in (1670.4, 2e4, 1e-5, 5e7, 1.23e160, -3.2e-9):
        assert "e+" not in readable(value) and "e-" not in readable(value) and "e-" not in significant(value)
