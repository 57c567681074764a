"""Running the service: checked backups and restores, and the demo data `make run` seeds."""
