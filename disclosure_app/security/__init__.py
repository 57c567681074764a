"""Who may do what, and proof of it: staff accounts, passwords, the second factor, sessions and
step-up, lockout, the hashing cap, rate limits, request rules, security headers, what production
refuses, and the security event log. The ``auth`` blueprint (sign-in, sign-out, password) lives
in ``views``."""
