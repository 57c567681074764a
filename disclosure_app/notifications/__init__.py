"""Notifications to staff: in the app (a count in the header, a list) and by e-mail."""
