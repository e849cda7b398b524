"""Region computations on Arrow arrays, dictionary-aware.

Region columns are usually dictionary-encoded (a few hundred distinct codes for millions of
rows). String kernels do not accept dictionaries, and decoding would copy every row; so each
function computes on the dictionary's values (small) and maps the result through the indices
(one ``take``). Plain string columns use the string kernels directly.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from policies import nuts


def _within_all(code: str | None, regions: tuple[tuple[str, ...], ...]) -> bool:
    return code is not None and all(
        any(nuts.contains(region, code) for region in group) for group in regions
    )


def region_mask(column: pa.Array, regions: tuple[tuple[str, ...], ...]) -> pa.BooleanArray:
    """True for rows whose code lies within one region of every group (null codes: False)."""
    if pa.types.is_dictionary(column.type):
        values = column.dictionary.to_pylist()
        keep = pa.array([_within_all(value, regions) for value in values], type=pa.bool_())
        mask = pc.take(keep, column.indices)
    else:
        mask = None
        for group in regions:
            matches = [pc.starts_with(column, pattern=region) for region in group]
            any_match = matches[0]
            for match in matches[1:]:
                any_match = pc.or_(any_match, match)
            mask = any_match if mask is None else pc.and_(mask, any_match)
        if mask is None:
            return pc.is_valid(column)
    return pc.fill_null(mask, False)


def region_prefix(column: pa.Array, length: int) -> pa.Array:
    """Each code cut to its first ``length`` characters: the enclosing region at that level.

    A dictionary column stays a dictionary (with distinct values) of the same index type.
    """
    if not pa.types.is_dictionary(column.type):
        return pc.utf8_slice_codeunits(column, 0, length)
    cut = pc.utf8_slice_codeunits(column.dictionary, 0, length)
    distinct = pc.unique(cut)
    remap = pc.cast(pc.index_in(cut, value_set=distinct), column.type.index_type)
    indices = pc.take(remap, column.indices)
    return pa.DictionaryArray.from_arrays(indices, distinct)
