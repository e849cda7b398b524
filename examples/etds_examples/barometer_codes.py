"""Codes and Arrow schema of the campsite booking barometer (domain.md §1).

The code lists are the single source of truth for the generator and its tests; each categorical
column is written as an Arrow dictionary whose dictionary is exactly the list below.
"""

from __future__ import annotations

import pyarrow as pa

STAR_RATINGS = ("1", "2", "3", "4", "5", "NC")
CAPACITY_BANDS = ("<50", "50-99", "100-199", "200-499", "500+")
CAPACITY_BAND_LOWER_BOUNDS = (0, 50, 100, 200, 500)
ACCOMMODATION_TYPES = ("emplacement_nu", "locatif_mobil_home", "locatif_autre")
LEAD_TIME_BUCKETS = ("0-7", "8-30", "31-90", "91-180", "181+")
LEAD_TIME_UPPER_DAYS = (7, 30, 90, 180)  # upper bound of each bucket but the last, inclusive
# The main markets first, then smaller ones still large enough to be published on their own;
# every other origin is folded into ZZ.
CUSTOMER_COUNTRIES = (
    "FR", "DE", "NL", "GB", "BE", "CH", "IT", "ES",
    "LU", "DK", "SE", "NO", "AT", "PL", "CZ", "IE", "PT", "US", "ZZ",
)  # fmt: skip
CHANNELS = (
    "direct_web",
    "direct_desk_phone",
    "ota",
    "tour_operator",
    "chain_central",
    "other",
)

KEY_COLUMNS = (
    "snapshot_date",
    "campsite_pid",
    "stay_date",
    "accommodation_type",
    "customer_country",
    "channel",
)
PARTITION_COLUMN = "snapshot_date"

_dictionary = pa.dictionary(pa.int16(), pa.string())

BAROMETER_SCHEMA = pa.schema(
    [
        pa.field("snapshot_date", pa.date32(), nullable=False),
        pa.field("campsite_pid", _dictionary, nullable=False),
        pa.field("departement_code", _dictionary, nullable=False),
        pa.field("nuts3", _dictionary, nullable=False),
        pa.field("star_rating", _dictionary, nullable=False),
        pa.field("capacity_band", _dictionary, nullable=False),
        pa.field("stay_date", pa.date32(), nullable=False),
        pa.field("accommodation_type", _dictionary, nullable=False),
        pa.field("units_available", pa.int32(), nullable=False),
        pa.field("units_booked", pa.int32(), nullable=False),
        pa.field("occupancy_rate", pa.float64(), nullable=False),
        pa.field("bookings", pa.int32(), nullable=False),
        pa.field("person_nights", pa.int32(), nullable=False),
        pa.field("lead_time_bucket", _dictionary, nullable=False),
        pa.field("customer_country", _dictionary, nullable=False),
        pa.field("channel", _dictionary, nullable=False),
    ]
)
"""Schema of the whole dataset as read with :func:`etds_examples.barometer.open_barometer`."""

FILE_SCHEMA = BAROMETER_SCHEMA.remove(BAROMETER_SCHEMA.get_field_index(PARTITION_COLUMN))
"""Schema inside each Parquet file: ``snapshot_date`` lives in the hive folder name only."""
