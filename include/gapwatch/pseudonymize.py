"""PII columns in a window's extracts: replaced by keyed hashes before the Parquet files are written.

The extracts sit on a worker's disk (``$GAPWATCH_RUNS_DIR``) for as long as run files are kept, so
they must not hold an email address or a name in plain text. The readiness suite may still check
a PII column (not null, unique), so the column is kept with every value replaced by an HMAC-SHA256
of it: a null stays null and two equal values get the same hash, so those checks give the same
answer, while the value itself cannot be read back.

The key is random and made fresh for every extraction and never stored: hashes are comparable
within one window's files (the window and its cohort), which is all a check needs, and without
the key nobody can hash a list of known emails to find one in the files.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Collection
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

KEY_BYTES = 32
HASH_HEX = 32  # 128 bits of the digest: no collision in any window's worth of rows


def new_key() -> bytes:
    """A fresh random key for one extraction."""
    return secrets.token_bytes(KEY_BYTES)


def _digest(key: bytes, value: object) -> bytes:
    return hmac.new(key, repr(value).encode("utf-8"), hashlib.sha256).digest()


def pseudonymize(frame: pd.DataFrame, columns: Collection[str], key: bytes) -> pd.DataFrame:
    """A copy of ``frame`` with each of ``columns`` present replaced by keyed hashes.

    Text (and any other non-numeric column) becomes hex strings; a numeric column stays numeric
    (a non-negative 63-bit integer from the digest), so a type expectation on it still holds.
    Nulls stay null. Columns not in the frame are ignored.

    Args:
        frame: The extract about to be written.
        columns: The spec's PII columns (``MonitorSpec.pii_columns``).
        key: The extraction's key (:func:`new_key`).

    Returns:
        The frame to write; ``frame`` itself is not changed.
    """
    import pandas as pd

    present = [c for c in columns if c in frame.columns]
    if not present:
        return frame
    out = frame.copy()
    for column in present:
        series = out[column]
        mask = series.notna()
        hashed: list[int] | list[str]
        if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
            hashed = [int.from_bytes(_digest(key, v)[:8], "big") >> 1 for v in series[mask]]
            values = pd.Series(pd.NA, index=series.index, dtype="Int64")
        else:
            hashed = [_digest(key, v).hex()[:HASH_HEX] for v in series[mask]]
            values = pd.Series(None, index=series.index, dtype="object")
        values[mask] = hashed
        out[column] = values
    return out
