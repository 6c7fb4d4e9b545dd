"""auctionlab: strategic simulation of market mechanisms (TASC relay auctions, ICE exchange)."""

__version__ = "0.1.0"
