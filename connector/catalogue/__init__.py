"""The node's catalogue: what it knows of its assets, and the DCAT-AP catalogue it serves."""
