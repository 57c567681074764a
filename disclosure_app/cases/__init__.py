"""Cases from intake to closure: public applications and police referrals, the staff queue,
taking a workflow step (the one place a case's state changes), step records as people read them,
linked cases, deadlines, references and status links. The ``staff`` blueprint lives in
``views``."""
