"""Running the portal: what every request meets first (``middleware``, ``client_address``),
what operators watch (``health``, ``metrics``, ``logs``), and what keeps the data lawful and the
tables small (``privacy``, ``upkeep``)."""
