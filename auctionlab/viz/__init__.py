"""The interactive page: SolaraViz views of the relay market and the exchange.

``auctionlab viz`` (or ``solara run auctionlab.viz.app``) serves two pages — the relay market
(mechanism, assignment algorithm, population mix; prices, profit, efficiency and utilities by
strategy as live plots; the network drawn) and the exchange (αeff / αthresh, PP / PO and prices
per round; the bounds of a chosen bidder). In Jupyter, ``relay_page()`` / ``exchange_page()``
display the same views in a cell. Needs the ``[viz]`` extra (``pip install "auctionlab[viz]"``).

The views read only what the models publish through Mesa's public API (the DataCollector's
frames) and their public attributes; plotting is kept apart from the data: every ``*_frame``
function returns the tidy table its plot draws, and can be tested without a browser.
"""

from auctionlab.viz.data import bounds_frame, network_frame, utilities_frame

__all__ = ["bounds_frame", "network_frame", "utilities_frame"]
