"""feed: the shared job feed built from job events."""
