"""The interactive page in a real browser: it renders, STEP changes its plots (both markets).

Skipped where the ``[viz]`` extra or a Chromium with ChromeDriver is missing (``make test``
installs Chromium from the system packages when it can)."""

import pytest

pytest.importorskip("solara")
pytest.importorskip("selenium")

from auctionlab.viz import bounds_frame, network_frame, utilities_frame  # noqa: E402
from auctionlab.viz.browser import find_browser, free_port, open_browser, serve, step_page  # noqa: E402

needs_browser = pytest.mark.skipif(find_browser() is None, reason="no Chromium with ChromeDriver installed")


def test_page_data_without_a_browser():
    from auctionlab.viz.app import ExchangeMarketPage, RelayMarketPage

    relay = RelayMarketPage(n=8, m=12, rng=3, shading_share=0.5, inflating_share=0.5)
    assert utilities_frame(relay).empty
    relay.step()
    relay.step()
    u = utilities_frame(relay)
    assert set(u["step"]) == {1, 2} and set(u["role"]) == {"buyer", "seller"}
    assert u.groupby("role")["strategy"].nunique().to_dict() == {"buyer": 2, "seller": 2}
    net = network_frame(relay)
    assert net["nodes"]["kind"].value_counts().to_dict() == {"source": 8, "destination": 8, "relay": 12}
    assert net["links"]["traded"].sum() == relay.outcome.buyer_wins.sum()

    ex = ExchangeMarketPage(n_bidders=4, n_goods=2, rng=2)
    ex.step()
    name = ex.exchange.names[0]
    b = bounds_frame(ex, name)
    assert (b["lower"] <= b["upper"] + 1e-12).all()
    assert ((b["truth"] >= b["lower"] - 1e-9) & (b["truth"] <= b["upper"] + 1e-9)).all()


@needs_browser
def test_page_steps_change_the_plots():
    port = free_port()
    proc = serve(port)
    driver = open_browser()
    try:
        for path in ("/", "/exchange"):
            before, after = step_page(driver, f"http://127.0.0.1:{port}{path}", steps=2)
            assert len(before) >= 4, path
            changed = sum(a != b for a, b in zip(before, after))
            assert changed >= 2, f"{path}: only {changed} of {len(before)} plots changed after two steps"
    finally:
        driver.quit()
        proc.terminate()
        proc.wait(10)
