"""The mechanisms: pure, deterministic and free of Mesa.

- :mod:`auctionlab.mechanisms.relay` — the relay market: wireless networks, relay assignment
  (MWM / MM / ORA), TASC and the baseline double auctions as mechanism objects;
- :mod:`auctionlab.mechanisms.exchange` — ICE, the iterative combinatorial exchange: bid
  trees, winner determination, payment rules, prices, activity and closing rules.

The Mesa models that let agents act against them are in :mod:`auctionlab.models`.
"""
