"""Numbers for people: plain decimals, never scientific notation.

Python's ``g`` format switches to ``5e+07`` / ``4.8e-05`` at both ends of the range,
which reviewers misread in a table and which Mermaid's chart grammar rejects outright
(a parse error instead of the chart). Everything the report shows goes through here.
Pure, no imports beyond ``math``.
"""

from __future__ import annotations

import math

#: Past this many decimals a value is shown as "≈ 0" rather than as a 40-character string.
MAX_DECIMALS = 20


def _strip(text: str) -> str:
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def fixed(value: float, decimals: int, *, group: bool = False) -> str:
    """``value`` with at most ``decimals`` decimals, trailing zeros dropped; ``group`` adds thousands commas."""
    decimals = max(0, min(decimals, MAX_DECIMALS))
    return _strip(f"{value:{',' if group else ''}.{decimals}f}")


def _leading_decimals(value: float) -> int:
    """Decimals needed for the first significant digit of ``0 < |value| < 1`` to show (4.8e-5 -> 5)."""
    return -math.floor(math.log10(abs(value)))


def significant(value: float | int | None, digits: int = 6, *, group: bool = True) -> str:
    """Up to ``digits`` significant digits, plain: 50000000 -> "50,000,000", 4.82898e-05 -> "0.0000482898"."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}" if group else str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if value == 0:
        return "0"
    exponent = math.floor(math.log10(abs(value)))
    decimals = digits - 1 - exponent
    if decimals > MAX_DECIMALS:
        return "≈ 0"
    return fixed(value, decimals, group=group)


def at_precision(value: float | int | None, precision: int, *, group: bool = True, signed: bool = False) -> str:
    """``precision`` decimals (the report's ``metrics.precision``), but never a bare 0 for a non-zero value.

    4.82898e-05 at precision 4 would round to "0"; it is shown as "0.00005" (its first
    significant digit) so a real, tiny change does not read as none.
    """
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and not math.isfinite(value):
        return significant(value)
    decimals = precision
    if value != 0 and round(value, precision) == 0:
        decimals = _leading_decimals(value)
        if decimals > MAX_DECIMALS:
            return "≈ 0"
    text = fixed(float(value), decimals, group=group)
    return ("+" + text) if signed and value > 0 and text != "0" else text


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def readable(value: float | int | None, digits: int = 4) -> str:
    """For prose and tables with little room: plain up to 10¹⁵ and down to 10⁻⁶, else ``1.23 × 10¹⁶⁰``.

    (A 160-digit plain number helps nobody, and ``1.23e+160`` is what readers asked not to see.)
    """
    if value is None:
        return "—"
    if isinstance(value, bool) or isinstance(value, int) and abs(value) < 10 ** 15:
        return significant(value, digits)
    number = float(value)
    if not math.isfinite(number) or number == 0 or 1e-6 <= abs(number) < 1e15:
        return significant(number, digits)
    exponent = math.floor(math.log10(abs(number)))
    mantissa = fixed(number / 10 ** exponent, digits - 1)
    return f"{mantissa} × 10{str(exponent).translate(_SUPERSCRIPT)}"
