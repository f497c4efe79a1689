"""A deterministic simulated hospital: HIS and warehouse databases for tests, the demo and benchmarks."""
