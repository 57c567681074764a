"""Records management: MoPI review, legal holds and disposal of closed cases (issue 14).

- ``schedule``: a closed case's retention group and first review date, from the configured
  schedule (workflows.retention).
- ``reviews``: the records manager's review queue, reviews (retain with a next date, or
  dispose) and legal holds. A records manager sees closed cases only, and only their skeleton.
- ``disposal``: crypto-shredding. The case's data key is destroyed (every copy of its personal
  data, backups included, becomes unreadable), its personal rows are deleted, and the skeleton
  stays, so that management information does not change. Run by ``flask records dispose`` as the
  owner role: the app's runtime role has no DELETE.
"""
