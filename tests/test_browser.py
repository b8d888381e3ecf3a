"""`dlexam serve` in a real browser: Debian's Chromium, driven by Selenium through
chromium-driver (both installed by scripts/ensure-system.sh, listed in
dlexam/system-packages.txt).

The test starts the server itself on a free port, opens a question page, types a right answer,
a named mistake's answer and garbage, presses Check, and reads the verdicts from the page: they
are `dlexam check --json`'s. It checks that the mathematics was typeset by KaTeX (no raw TeX left
in the visible text) and switches the language. A failure leaves a screenshot in
tests/artifacts/ (or $DLEXAM_SCREENSHOTS).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from dlexam.cli import main
from dlexam.render.describe import command_line

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SHOTS = Path(os.environ.get("DLEXAM_SCREENSHOTS", ROOT / "tests" / "artifacts"))

pytestmark = pytest.mark.slow  # make test runs it (and CI); make check leaves it out


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    process = subprocess.Popen([sys.executable, "-m", "dlexam", "serve", "--port", "0",
                                "--workers", "2"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, cwd=ROOT,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert process.stdout is not None
    found = re.search(r"serving on (http://\S+)", process.stdout.readline())
    assert found
    url = found.group(1)
    for _ in range(150):
        try:
            with urllib.request.urlopen(url + "/api/derivations", timeout=10):
                break
        except OSError:
            time.sleep(0.2)
    yield url
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="dlexam-chromium-")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile}",
                 "--window-size=1366,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()
    import shutil

    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def shot_on_failure(request: pytest.FixtureRequest, browser: webdriver.Chrome) -> Iterator[None]:
    """A screenshot of the page when the test fails (the failure itself is raised as it is)."""
    failures = request.session.testsfailed
    yield
    if request.session.testsfailed > failures:
        _screenshot(browser, request.node.name)


def _screenshot(browser: webdriver.Chrome, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    browser.save_screenshot(str(path))
    print(f"screenshot: {path}", file=sys.stderr)


def _cli_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    main(list(argv))
    return json.loads(capsys.readouterr().out)


def _wait_typeset(browser: webdriver.Chrome) -> None:
    WebDriverWait(browser, 30).until(
        lambda b: b.execute_script("return !!window.katex") and
        b.find_elements(By.CSS_SELECTOR, ".katex"))


def _no_raw_tex(browser: webdriver.Chrome) -> None:
    visible = browser.find_element(By.TAG_NAME, "main").text
    for raw in ("\\frac", "\\tanh", "\\left", "\\begin", "\\(", "\\)"):
        assert raw not in visible, (raw, visible[:500])


def _check(browser: webdriver.Chrome, answers: dict[str, str]) -> list[dict[str, Any]]:
    for field in browser.find_elements(By.CSS_SELECTOR, "#check-form input[name]"):
        if field.get_attribute("type") != "hidden":
            field.clear()
    for ref, text in answers.items():
        browser.find_element(By.CSS_SELECTOR, f'input[name="{ref}"]').send_keys(text)
    old = browser.find_element(By.ID, "verdicts")
    browser.find_element(By.ID, "check").click()
    WebDriverWait(browser, 30).until(lambda b: b.find_element(By.ID, "verdicts") != old)
    section = browser.find_element(By.ID, "verdicts")
    return [json.loads(li.get_attribute("data-verdict") or "null")
            for li in section.find_elements(By.CSS_SELECTOR, "li.verdict")]


@pytest.mark.usefixtures("shot_on_failure")
def test_a_student_checks_answers_in_the_browser(server: str, browser: webdriver.Chrome,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    sampled = _cli_json(capsys, "sample", "rnn-forward", "--seed", "7", "--json")
    args = shlex.split(command_line("rnn-forward", sampled["params"]))[3:]
    right = _cli_json(capsys, "solve", "rnn-forward", *args, "--json")["answers"]["y"]
    wrong = _cli_json(capsys, "solve", "rnn-forward", *args, "--json",
                      "--mistake", "row-convention")["answers"]["y"]

    browser.get(server + "/q/rnn-forward?seed=7")
    _wait_typeset(browser)
    _no_raw_tex(browser)
    statement = browser.find_element(By.CSS_SELECTOR, ".statement")
    assert statement.find_elements(By.CSS_SELECTOR, ".katex")  # typeset by KaTeX

    cases = [{"y[1]": f"{right[0]:.6f}", "y[2]": f"{right[1]:.6f}"},
             {"y[1]": f"{wrong[0]:.6f}", "y[2]": f"{wrong[1]:.6f}"},
             {"y[1]": "0.3)(", "y[2]": "banana"}]
    for answers in cases[:2]:
        shown = _check(browser, answers)
        expected = _cli_json(capsys, "check", "rnn-forward", *args, *[
            f"-a{r}={t}" for r, t in answers.items()], "--json")
        assert shown == expected["verdicts"]
    verdicts = browser.find_element(By.ID, "verdicts")
    assert "row-convention" in json.dumps(shown)
    text = verdicts.text
    assert "✗" in text and verdicts.find_elements(By.CSS_SELECTOR, ".mistake")
    _no_raw_tex(browser)
    assert verdicts.find_elements(By.CSS_SELECTOR, ".departs .katex")  # both steps typeset

    shown = _check(browser, cases[2])  # garbage: the checker's one-line refusal, no verdicts
    assert shown == []
    error = browser.find_element(By.CSS_SELECTOR, "#verdicts .error").text
    main(["check", "rnn-forward", *args, "-a", "y[1]=0.3)(", "-a", "y[2]=banana"])
    said = capsys.readouterr().err.removeprefix("dlexam: error: ").strip()
    assert error == said

    browser.find_element(By.CSS_SELECTOR, 'a[data-lang="zh-Hant"]').click()
    WebDriverWait(browser, 30).until(
        lambda b: b.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-Hant")
    _wait_typeset(browser)
    assert "題目" in browser.find_element(By.TAG_NAME, "h1").text
    assert browser.find_element(By.ID, "check").text == "檢查"
    _no_raw_tex(browser)
    shown = _check(browser, cases[0])
    assert all(v["correct"] for v in shown) and len(shown) == 2
    assert "✓" in browser.find_element(By.ID, "verdicts").text


@pytest.mark.usefixtures("shot_on_failure")
def test_practice_keeps_score_in_the_page(server: str, browser: webdriver.Chrome) -> None:
    browser.get(server + "/practice?derivation=clip-gradient&seed=4")
    _wait_typeset(browser)
    first = browser.find_element(By.CSS_SELECTOR, "form.item")
    for _ in range(2):  # two wrong tries: the worked step is shown
        for field in first.find_elements(By.CSS_SELECTOR, "input"):
            field.clear()
            field.send_keys("12345")
        first.find_element(By.CSS_SELECTOR, "button.check").click()
        time.sleep(0.5)
    WebDriverWait(browser, 30).until(
        lambda b: first.find_element(By.CSS_SELECTOR, ".worked").is_displayed())
    assert browser.find_element(By.ID, "score").text == "Score: 0 of 1"
    _no_raw_tex(browser)
    browser.find_element(By.ID, "next").click()  # the next question keeps the session's score
    WebDriverWait(browser, 30).until(lambda b: b.find_elements(By.CSS_SELECTOR, "form.item"))
    assert browser.find_element(By.ID, "score").text == "Score: 0 of 1"


@pytest.mark.usefixtures("shot_on_failure")
def test_the_question_page_works_from_the_keyboard(server: str, browser: webdriver.Chrome
                                                   ) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    browser.get(server + "/q/clip-gradient?seed=2")
    _wait_typeset(browser)
    order = []
    for _ in range(30):  # Tab through the page: skip link, navigation, languages, fields, Check
        ActionChains(browser).send_keys(Keys.TAB).perform()
        active = browser.switch_to.active_element
        order.append((active.tag_name, active.get_attribute("name") or
                      active.get_attribute("id") or active.get_attribute("class") or ""))
        if active.get_attribute("id") == "check":
            break
    assert order[0] == ("a", "skip-link")
    fields = [name for tag, name in order if tag == "input"]
    shown = [e.get_attribute("name") for e in browser.find_elements(
        By.CSS_SELECTOR, "#check-form input:not([type=hidden])")]
    assert fields == shown  # every field reached, in the order the page shows them
    assert order[-1] == ("button", "check")
    for field in browser.find_elements(By.CSS_SELECTOR, "#check-form input:not([type=hidden])"):
        assert field.accessible_name, field.get_attribute("name")  # a label for every field
    browser.switch_to.active_element.send_keys(Keys.ENTER)  # Check from the keyboard
    WebDriverWait(browser, 30).until(
        lambda b: b.find_elements(By.CSS_SELECTOR, "#verdicts .error, #verdicts li"))
