"""The risk check: records sources and the offender register (``register``), resolving the
subject's identity, the checks checklist and the risk check view (the ``risk`` pages)."""
