"""What every concern's services share: the errors they raise (``errors``), the one-time
form keys that make a form sent twice change things once (``idempotency``) and the app's clock
(``clock``)."""
