"""The Mesa models: agents acting against the mechanisms.

- :class:`auctionlab.models.relay.RelayMarket` — sources and relays in the relay market;
- :class:`auctionlab.models.exchange.ExchangeMarket` — bidders with proxies in ICE.

Importing this package does not import Mesa; the two modules do.
"""
