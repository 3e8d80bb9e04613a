"""The Snakemake HTML report of the tiny preset, opened in a real headless browser (Chromium via Selenium)."""

from __future__ import annotations

import os
import shutil

import pytest

from conftest import snakemake

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
TUTORIAL_CATEGORY = "00 The tutorial's numbers and ours"


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium; in CI its absence fails the test (.ci/run installs it), elsewhere it skips."""
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        message = "chromium and chromedriver not found (apt-get install chromium chromium-driver)"
        pytest.fail(message) if CI else pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(argument)
    options.binary_location = shutil.which("chromium")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    driver.implicitly_wait(10)
    yield driver
    driver.quit()


def open_result(driver, category, name):
    """Click a category of the report's sidebar, then the eye of one of its files."""
    from selenium.webdriver.common.by import By

    driver.find_element(By.XPATH, f"//*[text()=\"{category}\"]").click()
    row = driver.find_element(By.XPATH, f"//td[text()='{name}']/..")
    row.find_element(By.CSS_SELECTOR, "a[iconname='eye']").click()


@pytest.mark.slow
def test_the_report_shows_the_tutorial_table_and_the_figures_in_a_browser(tiny_run, browser):
    from selenium.webdriver.common.by import By

    workdir, mirror_url = tiny_run
    report = workdir / "results/tiny/report.html"
    snakemake(workdir, "--report", str(report), "--config", "preset=tiny", f"data_mirror={mirror_url}")
    browser.get(report.as_uri())
    assert browser.title == "Snakemake Report"
    sidebar = browser.find_element(By.TAG_NAME, "body").text
    for category in (TUTORIAL_CATEGORY, "04 Logistic regression", "09 Restricted Boltzmann machines",
                     "11 Hybrid Monte-Carlo", "12 RNN-RBM"):
        assert category in sidebar

    open_result(browser, TUTORIAL_CATEGORY, "results/tiny/tutorial_table.html")
    browser.switch_to.frame(browser.find_element(By.TAG_NAME, "iframe"))
    rows = browser.find_elements(By.CSS_SELECTOR, "table.reported tbody tr")
    assert len(rows) == 29, "a row per number the tutorial reports"
    assert rows[0].text.startswith("logreg mnist test_error percent 7.4896")
    browser.switch_to.default_content()

    browser.get(report.as_uri())  # back to the start page
    open_result(browser, "04 Logistic regression", "results/tiny/figures/logreg_learning.png")
    image = browser.find_element(By.CSS_SELECTOR, "img[src^='data:image/png']")
    width, height = browser.execute_script("return [arguments[0].naturalWidth, arguments[0].clientHeight]", image)
    assert width > 200 and height > 100, "the figure is decoded and displayed"
    browser.save_screenshot(str(workdir / "results/tiny/report_screenshot.png"))
    assert (workdir / "results/tiny/report_screenshot.png").stat().st_size > 10_000

    severe = [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert not severe, severe
