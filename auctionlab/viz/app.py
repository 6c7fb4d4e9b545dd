"""The Solara app behind ``auctionlab viz``: ``solara run auctionlab.viz.app``.

Two pages, each a Mesa ``SolaraViz`` with its own controls (step, play, reset and the model's
parameters): ``/`` the relay market, ``/exchange`` the iterative exchange.
"""

from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import solara  # noqa: E402
from mesa.visualization import Slider, SolaraViz, make_plot_component  # noqa: E402
from mesa.visualization.utils import update_counter  # noqa: E402

from auctionlab.mechanisms.relay.mechanisms import MECHANISMS  # noqa: E402
from auctionlab.models.exchange import ExchangeMarket  # noqa: E402
from auctionlab.models.relay import RelayMarket  # noqa: E402
from auctionlab.strategies.registry import STRATEGIES  # noqa: E402
from auctionlab.viz.data import bounds_frame, network_frame, utilities_frame  # noqa: E402


# ---------------------------------------------------------------------- models with page parameters
class RelayMarketPage(RelayMarket):
    """``RelayMarket`` with the page's population controls: a share of buyers who scale their
    bids by ``theta`` and a share of sellers who add ``shift`` to their asks; the rest truthful."""

    def __init__(
        self,
        *,
        shading_share: float = 0.5,
        theta: float = 0.8,
        inflating_share: float = 0.0,
        shift: float = 0.2,
        **kwargs: Any,
    ) -> None:
        population = {
            "buyer": [
                {"strategy": "truthful", "share": 1.0 - shading_share},
                {"strategy": "scale", "params": {"theta": theta}, "share": shading_share},
            ],
            "seller": [
                {"strategy": "truthful", "share": 1.0 - inflating_share},
                {"strategy": "shift", "params": {"delta": shift}, "share": inflating_share},
            ],
        }
        super().__init__(population=population, **kwargs)


def exchange_proxies() -> list[str]:
    """Registered strategies that act in the exchange."""
    return sorted(n for n, s in STRATEGIES.items() if getattr(s, "classifier", {}).get("role") == "bidder")


class ExchangeMarketPage(ExchangeMarket):
    """``ExchangeMarket`` with the page's controls: every bidder uses ``proxy`` except bidder 0,
    who uses ``deviant``."""

    def __init__(self, *, proxy: str = "straightforward", deviant: str = "straightforward", **kwargs: Any) -> None:
        n = int(kwargs.get("n_bidders", 4))
        super().__init__(population=[deviant] + [proxy] * (n - 1), **kwargs)


# ---------------------------------------------------------------------- custom components
def _figure():
    fig, ax = plt.subplots(figsize=(5.5, 3.6), dpi=90)
    return fig, ax


@solara.component
def UtilitiesByStrategy(model):
    update_counter.get()
    df = utilities_frame(model)
    fig, ax = _figure()
    for (role, strategy), sub in df.groupby(["role", "strategy"], sort=True):
        ax.plot(sub["step"], sub["utility"], marker="o", ms=3, label=f"{role}: {strategy}")
    ax.set_xlabel("step")
    ax.set_ylabel("mean utility")
    if len(df):
        ax.legend(fontsize=7)
    solara.FigureMatplotlib(fig)
    plt.close(fig)


@solara.component
def NetworkView(model):
    update_counter.get()
    frames = network_frame(model)
    nodes, links = frames["nodes"], frames["links"]
    fig, ax = _figure()
    for row in links.itertuples():
        ax.plot(
            [row.x0, row.x1],
            [row.y0, row.y1],
            color="tab:green" if row.traded else "0.8",
            lw=1.5 if row.traded else 0.6,
            zorder=1,
        )
    style = {"source": ("o", "tab:blue"), "destination": ("x", "0.5"), "relay": ("^", "tab:red")}
    for kind, sub in nodes.groupby("kind"):
        marker, color = style[kind]
        ax.scatter(sub["x"], sub["y"], marker=marker, c=color, s=14, label=kind, zorder=2)
    ax.set_aspect("equal")
    ax.legend(fontsize=7, loc="upper right")
    ax.set_title("assigned pairs (green: traded in the last auction)", fontsize=8)
    solara.FigureMatplotlib(fig)
    plt.close(fig)


@solara.component
def BidderBounds(model):
    update_counter.get()
    names = [str(n) for n in model.exchange.names]
    chosen = solara.use_reactive(names[0])
    if chosen.value not in names:
        chosen.set(names[0])
    solara.Select(label="bidder", value=chosen, values=names)
    df = bounds_frame(model, chosen.value)
    fig, ax = _figure()
    ax.vlines(df["node"], df["lower"], df["upper"], color="tab:blue", lw=4, alpha=0.6, label="bounds")
    ax.scatter(df["node"], df["lower"], marker="_", s=120, color="tab:blue")
    ax.scatter(df["node"], df["upper"], marker="_", s=120, color="tab:blue")
    ax.scatter(df["node"], df["truth"], color="k", s=12, zorder=3, label="true value")
    ax.set_xlabel("node")
    ax.set_ylabel("value")
    ax.legend(fontsize=7)
    solara.FigureMatplotlib(fig)
    plt.close(fig)


@solara.component
def ExchangePrices(model):
    update_counter.get()
    df = model.datacollector.get_model_vars_dataframe()
    cols = [c for c in df.columns if c.startswith("price_")]
    fig, ax = _figure()
    for c in cols:
        ax.plot(df.index, df[c], marker="o", ms=3, label=c.removeprefix("price_"))
    ax.set_xlabel("round")
    ax.set_ylabel("provisional price")
    if cols:
        ax.legend(fontsize=7)
    solara.FigureMatplotlib(fig)
    plt.close(fig)


# ---------------------------------------------------------------------- pages
RELAY_PARAMS: dict[str, Any] = {
    "n": Slider("sources", 20, 2, 60, 1),
    "m": Slider("relays", 30, 2, 90, 1),
    "mechanism": {"type": "Select", "value": "tasc", "values": sorted(MECHANISMS), "label": "mechanism"},
    "algorithm": {"type": "Select", "value": "mwm", "values": ["mwm", "mm", "ora"], "label": "assignment"},
    "shading_share": Slider("share of shading buyers", 0.5, 0.0, 1.0, 0.05),
    "theta": Slider("shading factor", 0.8, 0.1, 1.0, 0.05),
    "inflating_share": Slider("share of inflating sellers", 0.0, 0.0, 1.0, 0.05),
    "rng": 1,
}


def exchange_params() -> dict[str, Any]:
    proxies = exchange_proxies()
    return {
        "n_bidders": Slider("bidders", 5, 2, 10, 1),
        "n_goods": Slider("goods", 3, 1, 6, 1),
        "proxy": {"type": "Select", "value": "straightforward", "values": proxies, "label": "proxy"},
        "deviant": {"type": "Select", "value": "straightforward", "values": proxies, "label": "bidder 0's proxy"},
        "cutoff_eff": Slider("cutoff αeff", 0.95, 0.5, 1.0, 0.01),
        "cutoff_thresh": Slider("cutoff αthresh", 0.9, 0.5, 1.0, 0.01),
        "rng": 1,
    }


def relay_page(**params: Any):
    """The relay market page (a SolaraViz element; display it in Jupyter or serve it)."""
    defaults = {
        k: (v.value if isinstance(v, Slider) else v["value"] if isinstance(v, dict) else v)
        for k, v in RELAY_PARAMS.items()
    }
    model = RelayMarketPage(**{**defaults, **params})
    components = [
        make_plot_component({"buyer_price": "tab:blue", "seller_price": "tab:orange"}),
        make_plot_component("profit"),
        make_plot_component({"capacity_ratio": "tab:green", "trades_ratio": "tab:purple"}),
        (UtilitiesByStrategy, 0),
        (NetworkView, 0),
    ]
    return SolaraViz(model, components=components, model_params=RELAY_PARAMS, name="auctionlab: relay market")


def exchange_page(**params: Any):
    """The exchange page (a SolaraViz element)."""
    spec = exchange_params()
    defaults = {
        k: (v.value if isinstance(v, Slider) else v["value"] if isinstance(v, dict) else v) for k, v in spec.items()
    }
    model = ExchangeMarketPage(**{**defaults, **params})
    components = [
        make_plot_component({"alpha_eff": "tab:blue", "alpha_thresh": "tab:orange"}),
        make_plot_component({"pp": "tab:green", "po": "tab:red"}),
        (ExchangePrices, 0),
        (BidderBounds, 0),
    ]
    return SolaraViz(model, components=components, model_params=spec, name="auctionlab: exchange")


@solara.component
def RelayPage():
    relay_page()


@solara.component
def ExchangePage():
    exchange_page()


routes = [
    solara.Route(path="/", component=RelayPage, label="Relay market"),
    solara.Route(path="exchange", component=ExchangePage, label="Exchange"),
]
