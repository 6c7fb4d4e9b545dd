"""auctionlab: strategic simulation of market mechanisms (TASC relay auctions, ICE exchange)."""

__version__ = "0.1.0"

from auctionlab import _compat

_compat.install()  # the old import paths (auctionlab.market.*, auctionlab.analysis.*) for one release
