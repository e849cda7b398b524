"""The administrators' API, compatible with the Eclipse Dataspace Components Management API v3."""
