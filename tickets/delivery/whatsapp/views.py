"""The webhook Meta calls with what became of the messages (statuses) and with customers' replies
(STOP, START): checked and read here (``webhook``), taken in by
``service.whatsapp_webhook_received``.

What it answers: 415 to a POST that is not JSON, before its body is read; 403 without Meta's
signature; 400 to a signed body that is not a delivery as Meta documents it (nothing of it is
applied, and it is logged); 503 when a status is of a message whose ID is not written yet (Meta
delivers again later); 200 otherwise, also for the statuses and messages the portal does not take.
"""

import logging

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from tickets.channels import whatsapp_is_on
from tickets.delivery.whatsapp.service import whatsapp_webhook_received
from tickets.delivery.whatsapp.webhook import (
    SIGNATURE_HEADER,
    UnreadableDelivery,
    delivery_read,
    signature_is_valid,
    verify_token_is_valid,
)

logger = logging.getLogger(__name__)


# Exempt from the CSRF check, so that no middleware parses the body as a form before the view
# reads it raw (``CompleteBodyMiddleware``): the signature is of the raw bytes.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def whatsapp_webhook(request: HttpRequest) -> HttpResponse:
    """Meta's webhook: its subscription check, then signed news of the messages and replies."""
    if not whatsapp_is_on():
        raise Http404("WhatsApp is off.")
    if request.method == "GET":
        if request.GET.get("hub.mode") == "subscribe" and verify_token_is_valid(
            request.GET.get("hub.verify_token")
        ):
            return HttpResponse(request.GET.get("hub.challenge", ""), content_type="text/plain")
        return HttpResponse("Wrong verify token.", status=403, content_type="text/plain")
    if request.content_type != "application/json":
        return HttpResponse("Only JSON is taken.", status=415, content_type="text/plain")
    if not signature_is_valid(request.body, request.headers.get(SIGNATURE_HEADER)):
        logger.warning("WhatsApp webhook: a POST without a valid signature was refused")
        return HttpResponse("Bad signature.", status=403, content_type="text/plain")
    try:
        delivery = delivery_read(request.body)
    except UnreadableDelivery as exc:
        logger.warning("WhatsApp webhook: a signed delivery could not be read: %s", exc)
        return HttpResponse("Not a delivery.", status=400, content_type="text/plain")
    if whatsapp_webhook_received(delivery)["early"]:
        # Meta delivers again later, by when the message's ID is written.
        return HttpResponse("Not known yet.", status=503, content_type="text/plain")
    return HttpResponse("OK", content_type="text/plain")
