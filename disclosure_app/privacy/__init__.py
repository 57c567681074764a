"""Personal data at rest: per-case encryption, the key store apart from the database, and keyed
blind indexes for the searches that need personal values.

- ``envelope``: AES-256-GCM sealing of one value, and wrapping of data keys under a
  key-encryption key (KEK).
- ``keystore``: the data keys (one per case), wrapped, in their own database (by default a
  SQLite file of its own in ``instance/``), and the KEK ring read from ``KEK_DIR``.
- ``sealed``: the ``Sealed`` column type and the flush hook that seals each personal value under
  its case's key. Destroying a case's key (crypto-shredding) makes every copy of its personal
  data unreadable, backups included, while the audit chain, which holds only hashes, verifies.
- ``blind_index``: HMAC-SHA-256 of normalised values, so that linked-case and subject searches
  find equal values without the values being stored in clear.
"""
