"""The package's layering rules, checked on what an import actually pulls in."""

import subprocess
import sys


def loaded_after(stmt: str) -> set[str]:
    code = f"import sys; {stmt}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_strategies_import_no_mechanism_and_no_mesa():
    mods = loaded_after("import auctionlab.strategies, auctionlab.strategies.measure")
    assert not {m for m in mods if m.startswith("auctionlab.mechanisms")}
    assert "mesa" not in mods


def test_relay_mechanisms_import_no_mesa_agents_or_strategies():
    mods = loaded_after("import auctionlab.mechanisms.relay, auctionlab.mechanisms.relay.mechanisms")
    assert "mesa" not in mods
    assert not {m for m in mods if m.startswith(("auctionlab.agents", "auctionlab.strategies"))}


def test_exchange_mechanism_imports_no_mesa_agents_or_strategies():
    mods = loaded_after(
        "import auctionlab.mechanisms.exchange, auctionlab.mechanisms.exchange.ice, auctionlab.mechanisms.exchange.proxies"
    )
    assert "mesa" not in mods
    assert not {m for m in mods if m.startswith(("auctionlab.agents", "auctionlab.strategies"))}


def test_exchange_strategies_import_no_exchange_and_no_mesa():
    mods = loaded_after("import auctionlab.strategies.exchange, auctionlab.strategies.population")
    assert not {m for m in mods if m.startswith("auctionlab.mechanisms")}
    assert "mesa" not in mods


def test_old_import_paths_are_the_same_modules_with_a_warning():
    code = (
        "import warnings\n"
        "with warnings.catch_warnings(record=True) as w:\n"
        "    warnings.simplefilter('always')\n"
        "    import auctionlab.market.relay.tasc as old_tasc\n"
        "    from auctionlab.market.relay.model import RelayMarket as OldMarket\n"
        "    from auctionlab.market.exchange.payments import compute_payments as old_pay\n"
        "    import auctionlab.analysis.games as old_games\n"
        "    from auctionlab.experiments.relay_studies import RELAY_MANIPULATION_KIND as old_kind\n"
        "import auctionlab.mechanisms.relay.tasc as tasc, auctionlab.games as games\n"
        "from auctionlab.models.relay import RelayMarket\n"
        "from auctionlab.mechanisms.exchange.payments import compute_payments\n"
        "from auctionlab.studies.relay_strategic import RELAY_MANIPULATION_KIND\n"
        "assert old_tasc is tasc and OldMarket is RelayMarket and old_pay is compute_payments\n"
        "assert old_games is games and old_kind is RELAY_MANIPULATION_KIND\n"
        "msgs = [str(x.message) for x in w if issubclass(x.category, DeprecationWarning)]\n"
        "assert any('auctionlab.market.relay.tasc is deprecated' in m and 'auctionlab.mechanisms.relay.tasc' in m "
        "for m in msgs), msgs\n"
        "assert any('auctionlab.models.relay' in m for m in msgs), msgs\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_the_package_itself_imports_no_old_path():
    code = (
        "import warnings; warnings.simplefilter('error', DeprecationWarning)\n"
        "import auctionlab.mechanisms.relay, auctionlab.mechanisms.exchange, auctionlab.models.relay, "
        "auctionlab.models.exchange, auctionlab.studies, auctionlab.report.html, auctionlab.games, "
        "auctionlab.tournament, auctionlab.experiments.cli\n"
        "import auctionlab.experiments.kinds as k; sorted(k.RUN_KINDS)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_mechanisms_import_nothing_above_them():
    mods = loaded_after(
        "import auctionlab.mechanisms.relay.tasc, auctionlab.mechanisms.exchange.ice, "
        "auctionlab.mechanisms.exchange.payment_rules"
    )
    above = (
        "auctionlab.models",
        "auctionlab.agents",
        "auctionlab.strategies",
        "auctionlab.studies",
        "auctionlab.experiments",
        "auctionlab.report",
        "auctionlab.games",
        "auctionlab.tournament",
    )
    assert not {m for m in mods if m.startswith(above)}
    assert "mesa" not in mods and "matplotlib" not in mods


def test_running_a_kind_imports_no_report_code():
    mods = loaded_after("from auctionlab.experiments.kinds import RUN_KINDS; RUN_KINDS['tasc']")
    assert "auctionlab.studies" in mods
    assert not {m for m in mods if m.startswith("auctionlab.report")}
