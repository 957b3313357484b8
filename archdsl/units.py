"""Numbers with units that say what they are, for tables, summaries and reprs: bytes in
B/KiB/MiB/GiB/TiB (powers of 1024, never "KB"), counts (params, FLOPs) scaled to K/M/G/T
(powers of 1000), so a small network reads `2.36 M`, not `0.00 G`."""
from __future__ import annotations

BYTE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")
COUNT_UNITS = ("", "K", "M", "G", "T")


def _scaled(n: float, base: int, units: tuple) -> str:
    value, i = float(n), 0
    # Choose the unit after rounding, so 999,999 reads "1.00 M", not "1000.00 K".
    while i < len(units) - 1 and round(abs(value), 2) >= base:
        value, i = value / base, i + 1
    if i == 0:
        return f"{int(n):,}" + (f" {units[0]}" if units[0] else "")
    return f"{value:.2f} {units[i]}"


def bytes_text(n: float) -> str:
    """`512 B`, `1.50 KiB`, `44.59 MiB`, `1.21 GiB`."""
    return _scaled(n, 1024, BYTE_UNITS)


def count_text(n: float) -> str:
    """`512`, `12.29 K`, `1.82 G`."""
    return _scaled(n, 1000, COUNT_UNITS)
