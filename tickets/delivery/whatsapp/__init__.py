"""WhatsApp, the customer's second channel beside e-mail, through Meta's WhatsApp Cloud API.

``service`` queues the messages with the change they tell of, sends them as an outbox, and takes
in the webhook's news; ``client`` speaks the API (one template message per call, every failure
classed as the providers' are); ``webhook`` checks what Meta signs and reads it; ``views`` is the
webhook's address; ``sandbox`` fakes both sides for ``make run`` and the tests. Whether WhatsApp
is on at all is ``tickets.channels``.
"""
