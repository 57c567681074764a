"""Dip sampling: closed no-disclosure cases drawn at random for a second review (issue 4)."""

from disclosure_app.dip_sampling.views import bp

__all__ = ["bp"]
