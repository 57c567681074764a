"""The auditor's blueprint ("audit", under /audit). Its pages live in two modules, the console
(``audit.views``: the chain, the decision log, each case's trail) and the reports
(``audit.console``); both hang their routes on this one, so neither imports the other."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("audit", __name__, url_prefix="/audit")
