"""The decision log and those who read it: the hash chain, signed checkpoints, the offline
verifier, start-up self-checks, consultation reasons, misuse alerts, the auditor's console,
reports and exports, and the ``flask audit`` commands."""
