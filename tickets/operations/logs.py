"""What the portal's logs may carry."""

import logging
import re

# A status page's path is the customer's link to their request: anyone who has it sees it.
STATUS_LINK = re.compile(r"/status/[0-9a-fA-F-]{36}")


class HideCustomerLinks(logging.Filter):
    """Every record with its status page paths cut to ``/status/…``: Django logs the path of
    each request answered 4xx or 5xx, and the access log is off for the same reason."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if STATUS_LINK.search(message):
            record.msg, record.args = STATUS_LINK.sub("/status/…", message), None
        return True
