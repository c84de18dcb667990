"""The webhook Meta calls with what became of the messages (statuses) and with customers' replies
(STOP, START): checked here, taken in by ``service.whatsapp_webhook_received``."""

import json
import logging

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from tickets.channels import whatsapp_is_on
from tickets.delivery.whatsapp.service import whatsapp_webhook_received
from tickets.delivery.whatsapp.webhook import (
    SIGNATURE_HEADER,
    signature_is_valid,
    verify_token_is_valid,
)

logger = logging.getLogger(__name__)


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
    if not signature_is_valid(request.body, request.headers.get(SIGNATURE_HEADER)):
        logger.warning("WhatsApp webhook: a POST without a valid signature was refused")
        return HttpResponse("Bad signature.", status=403, content_type="text/plain")
    try:
        payload = json.loads(request.body)
    except ValueError:
        return HttpResponse("Not JSON.", status=400, content_type="text/plain")
    if whatsapp_webhook_received(payload)["early"]:
        # Meta delivers again later, by when the message's ID is written.
        return HttpResponse("Not known yet.", status=503, content_type="text/plain")
    return HttpResponse("OK", content_type="text/plain")
