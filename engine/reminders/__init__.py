"""Reminders: the projection of what waits on whom, its words, and their delivery."""
