"""Records sources for the risk check: the ``RecordsSource`` interface, the built-in local
offender register (``LocalRegister``), its JSON Lines import and the synthetic sample register."""
