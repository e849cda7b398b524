"""The etds-connector node: HTTP APIs, storage, state machines, data plane, identity and CLI."""
