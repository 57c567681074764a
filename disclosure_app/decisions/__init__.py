"""The quality of decisions: the rationale quality checks on a recorded decision, and dip
sampling (closed no-disclosure cases drawn at random for a second review; the ``dip_sampling``
pages)."""
