"""Markets: the relay double auction (TASC) and the combinatorial exchange (ICE). No Mesa here except model.py."""
