"""Serve the interactive page and drive it in a headless browser (for tests and screenshots).

``python -m auctionlab.viz.browser OUT_DIR`` serves the page, steps each market a few times
in headless Chromium and writes ``relay.png`` and ``exchange.png`` to ``OUT_DIR``
(``make screenshot``). Needs the ``[viz]`` extra and a Chromium with its ChromeDriver
(Debian: ``apt-get install chromium chromium-driver``).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from auctionlab.errors import StateError

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def find_browser() -> tuple[str, str] | None:
    """(browser, driver) executables, or None when either is missing."""
    browser = next((p for p in map(shutil.which, BROWSERS) if p), None)
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(port: int, timeout: float = 120.0) -> subprocess.Popen:
    """Start ``solara run auctionlab.viz.app`` on ``port`` and wait until it answers."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "solara",
            "run",
            "auctionlab.viz.app",
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
            "--production",
            "--no-open",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StateError(
                f"the page server exited with code {proc.returncode}: "
                f"{proc.stderr.read().decode(errors='replace')[-2000:] if proc.stderr else ''}"
            )
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
            return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise StateError(f"the page server did not answer on port {port} within {timeout:.0f} s")


def open_browser(width: int = 1400, height: int = 1800):
    """A headless Chromium driven by Selenium."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    found = find_browser()
    if found is None:
        raise StateError("no Chromium with ChromeDriver found (Debian: apt-get install chromium chromium-driver)")
    browser, driver = found
    opts = Options()
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--window-size={width},{height}",
    ):
        opts.add_argument(arg)
    opts.binary_location = browser
    return webdriver.Chrome(service=Service(driver), options=opts)


def wait_for(driver, find, timeout: float = 90.0):
    """Poll ``find(driver)`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = find(driver)
        if got:
            return got
        time.sleep(0.5)
    raise StateError("the page did not show what was expected in time")


def button(driver, label: str):
    from selenium.webdriver.common.by import By

    return next((b for b in driver.find_elements(By.TAG_NAME, "button") if b.text.strip().upper() == label), None)


def plots(driver) -> list[bytes]:
    """PNG screenshots of the page's plot images, in page order (retried while the page redraws)."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    for _ in range(20):
        try:
            return [
                img.screenshot_as_png
                for img in driver.find_elements(By.TAG_NAME, "img")
                if img.size.get("height", 0) > 50
            ]
        except StaleElementReferenceException:
            time.sleep(0.5)
    return []


def step_count(driver) -> int | None:
    """The step number the page's information card shows."""
    import re

    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    try:
        m = re.search(r"Step:\s*(\d+)", driver.find_element(By.TAG_NAME, "body").text)
    except StaleElementReferenceException:
        return None
    return int(m.group(1)) if m else None


def step_page(driver, url: str, steps: int = 2, settle: float = 60.0) -> tuple[list[bytes], list[bytes]]:
    """Open ``url``, wait for its plots, click STEP ``steps`` times; the plots before and after."""
    driver.get(url)
    wait_for(driver, lambda d: button(d, "STEP") and len(plots(d)) >= 2)
    time.sleep(1.0)
    before = plots(driver)
    for _ in range(steps):
        done = (step_count(driver) or 0) + 1
        button(driver, "STEP").click()
        wait_for(driver, lambda d, done=done: (step_count(d) or 0) >= done, timeout=settle)  # one step at a time
    deadline = time.monotonic() + settle
    after = plots(driver)
    while time.monotonic() < deadline and sum(a != b for a, b in zip(before, after)) < 2:
        time.sleep(1.0)
        after = plots(driver)
    return before, after


def screenshots(out: Path, steps: int = 3) -> list[Path]:
    """Serve the page, step both markets, save a screenshot of each."""
    out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    proc = serve(port)
    driver = open_browser()
    try:
        paths = []
        for name, path in (("relay", "/"), ("exchange", "/exchange")):
            step_page(driver, f"http://127.0.0.1:{port}{path}", steps)
            target = out / f"{name}.png"
            driver.save_screenshot(str(target))
            paths.append(target)
        return paths
    finally:
        driver.quit()
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    for p in screenshots(Path(sys.argv[1] if len(sys.argv) > 1 else "results/screenshots")):
        print(p)
