"""The production topology, natively: Redis, service replicas and nginx as local processes."""
