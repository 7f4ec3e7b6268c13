"""Infrastructure: settings, logs, clocks and time for people."""
