from disclosure_app.audit.chain import verify_chain
from disclosure_app.db import get_session
from tests.factories import make_case
from workflows.status import Route, Status


def test_case_can_be_walked_to_closed_with_an_intact_chain(app):
    case, token = make_case(app, Status.closed)
    assert token
    with app.app_context():
        assert verify_chain(get_session()).ok


def test_right_to_know_case_reaches_awaiting_decision(app):
    case, token = make_case(app, Status.awaiting_decision, route=Route.right_to_know)
    assert token is None
    assert case.status is Status.awaiting_decision
