"""Every change to a submission and to what the portal owes happens in one of these modules.

``intake``: a customer's request enters. ``status``: the one place a submission's status is
written, and what follows a change. ``outbox``: the delivery mechanism forwards, e-mails and
WhatsApp messages share (claim, lease, due time, recovery), drawn in ``docs/delivery.md``.
``forward``: one forward (claim, call, record, next step). ``notifications``: e-mails to
customers and staff. ``whatsapp``: WhatsApp messages to customers who asked, and Meta's webhook.
``access``: "Find my request" codes. ``scheduling``: every way into the task queue.
``recovery``: the sweep of every outbox. ``staff``: resend, cancel and reopen, correct.
``privacy``: retention and erasure. ``maintenance``: the
daily upkeep. Services import the task functions at module level; tasks import services in
their bodies, so the two never import each other in a cycle.
"""
