"""Incidents and tickets: the lifecycle in the store, who hears about it (routing) and what they
read (messages). The decisions themselves are pure functions in :mod:`gapwatch.policy`."""
