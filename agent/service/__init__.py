"""The long-running service: job runner, scheduler, health and metrics, signals."""
