"""Every change to a submission happens in one of these modules.

``intake``: a customer's request enters. ``forwarding``: claim, call, record, next step: the only
code that changes delivery status. ``staff``: resend, cancel, correct. ``privacy``: retention and
erasure. Services import the task functions at module level; tasks import services in their
bodies, so the two never import each other in a cycle.
"""
