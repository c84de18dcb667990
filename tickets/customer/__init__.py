"""What a customer meets: the landing page and each provider's form (``views``), a request
taken in (``intake``), its status page and the words on it (``status_text``), "Find my request"
(``access``, ``forms``), and what keeps the forms fair and fast (``rate_limit``, ``browser``,
``page_cache``)."""
