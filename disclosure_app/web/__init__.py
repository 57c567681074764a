"""Request plumbing every blueprint shares: deny-by-default access, the per-app context views hand
to services, error pages, URL converters, the health check and the one-time form keys."""
