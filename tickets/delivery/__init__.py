"""The delivery machine (docs/delivery.md): work the portal owes, kept in the database and done
by workers. One mechanism (``outbox``, ``scheduling``, ``recovery``, ``retry``, ``clock``,
``locks``) and one module per outbox: ``forward`` (a request to its provider, and the one writer
of its status), ``email`` (customers and staff), ``whatsapp`` (customers who opted in).
``reports`` reads the figures staff and operators see."""
