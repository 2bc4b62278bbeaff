"""Target drivers: how each fault and observation is carried out on one kind of platform."""
