"""The Eclipse Dataspace Protocol 2025-1: version discovery, catalogue (and later negotiation
and transfer) endpoints, message parsing and DSP error messages."""
