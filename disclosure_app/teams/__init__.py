"""Teams, allocation and workload (issue 13): routing new cases to a team, claiming and
assigning cases, cover for absent officers, the supervisors' workload page, and the teams
themselves (administrators)."""
