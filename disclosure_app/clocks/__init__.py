"""Working-day clocks on cases: targets, near breach and breach, extensions' effect, the
scheduled tick that escalates, and the breach forecast. The rules are pure
(``workflows.working_calendar``, ``workflows.clocks``, ``workflows.forecast``); this package
feeds them the force's calendar and stores what they decide."""
