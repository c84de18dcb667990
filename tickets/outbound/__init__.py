"""The one HTTP way out, shared by the providers and WhatsApp: explicit time-outs, no redirects,
secrets redacted from what is kept (``http``), and every failure classed (``errors``)."""
