"""HTTP plumbing shared by every API of the node: problem documents, input caps, request logs."""
