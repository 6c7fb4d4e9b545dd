"""The package's layering rules, checked on what an import actually pulls in."""

import subprocess
import sys


def loaded_after(stmt: str) -> set[str]:
    code = f"import sys; {stmt}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_strategies_import_no_mechanism_and_no_mesa():
    mods = loaded_after("import auctionlab.strategies, auctionlab.strategies.measure")
    assert not {m for m in mods if m.startswith("auctionlab.market")}
    assert "mesa" not in mods


def test_relay_mechanisms_import_no_mesa_agents_or_strategies():
    mods = loaded_after("import auctionlab.market.relay, auctionlab.market.relay.mechanisms")
    assert "mesa" not in mods
    assert not {m for m in mods if m.startswith(("auctionlab.agents", "auctionlab.strategies"))}


def test_exchange_mechanism_imports_no_mesa_agents_or_strategies():
    mods = loaded_after(
        "import auctionlab.market.exchange, auctionlab.market.exchange.ice, auctionlab.market.exchange.proxies"
    )
    assert "mesa" not in mods
    assert not {m for m in mods if m.startswith(("auctionlab.agents", "auctionlab.strategies"))}


def test_exchange_strategies_import_no_exchange_and_no_mesa():
    mods = loaded_after("import auctionlab.strategies.exchange, auctionlab.strategies.population")
    assert not {m for m in mods if m.startswith("auctionlab.market")}
    assert "mesa" not in mods
