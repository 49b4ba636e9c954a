"""The embedded demo: the seeded production database, the runner and the detection scenarios."""
