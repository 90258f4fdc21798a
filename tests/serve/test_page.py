"""The page at / in a real browser: headless Chromium (the distribution's) driven by Selenium.

Load the page, type a sentence, click, and read the highlighted spans and their labels from the
DOM. Skips, naming the reason, where chromium or chromedriver is not installed (CI installs both).
"""

from __future__ import annotations

import os
import shutil

import pytest

import tagger
from tagger.serve import create_app

webdriver = pytest.importorskip("selenium.webdriver", reason="the browser test needs selenium (the test extra)")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


def _find(*names: str):
    for name in names:
        path = shutil.which(name) or (name if os.path.isabs(name) and os.access(name, os.X_OK) else None)
        if path:
            return path
    return None


CHROMIUM = _find("chromium", "chromium-browser", "/usr/bin/chromium")
CHROMEDRIVER = _find("chromedriver", "/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="no chromium and chromedriver installed (apt-get install chromium chromium-driver)",
)

SENTENCE = "John Smith lives in Paris."


@pytest.fixture
def browser():
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1100,900"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def open_page(browser, url: str) -> WebDriverWait:
    browser.get(url)
    wait = WebDriverWait(browser, 60)
    wait.until(lambda driver: driver.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true")
    return wait


def tag_in_page(browser, wait: WebDriverWait, text: str) -> None:
    box = browser.find_element(By.ID, "text")
    box.clear()
    box.send_keys(text)
    browser.find_element(By.ID, "tag").click()
    wait.until(lambda driver: "sentences" in driver.find_element(By.ID, "status").text)


def test_the_page_highlights_the_entities_with_their_labels_and_scores(browser, live_server, ner_model, tmp_path):
    model = tagger.load(ner_model)
    url = live_server(create_app(model))
    wait = open_page(browser, url)
    tag_in_page(browser, wait, SENTENCE)

    expected = [span for sentence in model.tag(SENTENCE, scores=True) for span in sentence.spans]
    assert [(s.text, s.label) for s in expected] == [("John Smith", "PER"), ("Paris", "LOC")]
    marks = browser.find_elements(By.CSS_SELECTOR, "#result mark.entity")
    got = [(mark.get_attribute("data-label"), mark.find_element(By.CLASS_NAME, "entity-label").text) for mark in marks]
    assert got == [(s.label, s.label.upper()) for s in expected]
    texts = [browser.execute_script("return arguments[0].firstChild.textContent", mark) for mark in marks]
    assert texts == [s.text for s in expected]
    assert browser.find_element(By.ID, "result").text.replace("\n", " ").startswith("John Smith")
    for mark, span in zip(marks, expected):
        assert mark.get_attribute("title") == f"{span.label} (p = {span.score:.3f})"
    # One colour per type, the legend's colour.
    legend = {
        item.get_attribute("data-label"): item.value_of_css_property("background-color")
        for item in browser.find_elements(By.CSS_SELECTOR, "#legend .legend-item")
    }
    assert set(legend) == {"PER", "ORG", "LOC", "MISC"}
    assert len(set(legend.values())) == 4
    for mark in marks:
        assert mark.value_of_css_property("background-color") == legend[mark.get_attribute("data-label")]
    # The model's labels and dev scores from /info.
    assert [label.text for label in browser.find_elements(By.CSS_SELECTOR, "#labels span")] == model.labels
    assert "PER" in browser.find_element(By.ID, "scores").text and "100.00" in browser.find_element(By.ID, "scores").text

    shot = tmp_path / "serve-page.png"
    assert browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 1000


def test_the_page_shows_pos_tags_under_the_tokens(browser, live_server, pos_model, tmp_path):
    url = live_server(create_app(pos_model))
    wait = open_page(browser, url)
    tag_in_page(browser, wait, "the dog ran")
    cells = browser.find_elements(By.CSS_SELECTOR, "#result .token")
    pairs = [(cell.find_element(By.CLASS_NAME, "word").text, cell.find_element(By.CLASS_NAME, "tag").text) for cell in cells]
    assert pairs == [("the", "DET"), ("dog", "NOUN"), ("ran", "VERB")]
    word, tag = cells[0].find_element(By.CLASS_NAME, "word"), cells[0].find_element(By.CLASS_NAME, "tag")
    assert tag.location["y"] > word.location["y"]  # under the token
    assert browser.find_elements(By.CSS_SELECTOR, "#result mark") == []
    assert browser.save_screenshot(str(tmp_path / "serve-pos.png"))


def test_the_page_shows_an_error_as_a_line(browser, live_server, ner_model):
    from tagger.serve import Limits

    url = live_server(create_app(ner_model, limits=Limits(max_request_tokens=3)))
    wait = open_page(browser, url)
    browser.find_element(By.ID, "text").clear()
    browser.find_element(By.ID, "text").send_keys("one two three four five")
    browser.find_element(By.ID, "tag").click()
    wait.until(lambda driver: "limit" in driver.find_element(By.ID, "status").text)
    status = browser.find_element(By.ID, "status")
    assert status.text == "the request holds more than the limit of 3 tokens"
    assert "error" in status.get_attribute("class")
