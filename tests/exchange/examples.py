"""The papers' worked exchanges (Fig. 1, Ex. 1-3), shared by the exchange tests."""

from auctionlab.mechanisms.exchange import AND, OR, XOR, Exchange, leaf


def fig1(buyer=(8, 15), seller=(-6, -2)) -> Exchange:
    """Ex. 1 with the Fig. 1 bounds: buyer AND(+A, +B), seller AND(−A, −B), per-leaf bounds."""
    return Exchange.from_dict(
        {
            "goods": ["A", "B"],
            "bidders": {
                "buyer": {"tree": AND(leaf({"A": 1}, list(buyer)), leaf({"B": 1}, list(buyer)))},
                "seller": {
                    "endowment": {"A": 1, "B": 1},
                    "tree": AND(leaf({"A": -1}, list(seller)), leaf({"B": -1}, list(seller))),
                },
            },
        }
    )


def example2() -> Exchange:
    """Ex. 2: one seller of ABCD (OR), four buyers AND(AB) 6, XOR(A, B) 4, AND(CD) 3, XOR(C, D) 2."""
    return Exchange.from_dict(
        {
            "goods": ["A", "B", "C", "D"],
            "bidders": {
                "seller": {
                    "endowment": {"A": 1, "B": 1, "C": 1, "D": 1},
                    "tree": OR(leaf({"A": -1}), leaf({"B": -1}), leaf({"C": -1}), leaf({"D": -1})),
                },
                "buyer1": {"tree": AND(leaf({"A": 1}), leaf({"B": 1}), value=6)},
                "buyer2": {"tree": XOR(leaf({"A": 1}), leaf({"B": 1}), value=4)},
                "buyer3": {"tree": AND(leaf({"C": 1}), leaf({"D": 1}), value=3)},
                "buyer4": {"tree": XOR(leaf({"C": 1}), leaf({"D": 1}), value=2)},
            },
        }
    )
