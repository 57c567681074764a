"""Use cases. Each public function that changes data is one transaction (``db.transaction``)."""
