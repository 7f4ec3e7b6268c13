"""The pure core: events, the world, decisions, the state machine, the fold, replay. No I/O, no clock."""
