"""The interactive docs, driven in headless Chromium (Debian's chromium and chromedriver)."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture
def browser():
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        if os.environ.get("CI"):
            pytest.fail("chromium and chromedriver are required in CI (.ci/run installs them)")
        pytest.skip("chromium/chromedriver not installed (apt-get install chromium "
                    "chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="htc-chromium-")
    for flag in ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage", f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def test_docs_render_the_contract_and_try_it_out_works(browser, live_url):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 30)
    browser.get(f"{live_url}/api/v1/docs")
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".opblock")))
    assert "HT Content API" in browser.find_element(By.CSS_SELECTOR, ".info .title").text
    operations = browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")
    paths = {element.get_attribute("data-path") or element.text for element in operations}
    assert "/api/v1/indicators" in {p.replace("\u200b", "") for p in paths}
    assert len(operations) >= 15

    block = browser.find_element(By.ID, "operations-indicators-listIndicators")
    block.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
    wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR,
                                           "#operations-indicators-listIndicators .try-out__btn")))
    block.find_element(By.CSS_SELECTOR, ".try-out__btn").click()
    execute = wait.until(ec.element_to_be_clickable(
        (By.CSS_SELECTOR, "#operations-indicators-listIndicators .execute")))
    execute.click()
    status_cell = ("#operations-indicators-listIndicators .live-responses-table tbody "
                   ".response-col_status")
    wait.until(lambda driver: driver.find_elements(By.CSS_SELECTOR, status_cell)
               and driver.find_element(By.CSS_SELECTOR, status_cell).text.strip())
    status = browser.find_element(By.CSS_SELECTOR, status_cell)
    assert status.text.strip().startswith("200")
    body = block.find_element(By.CSS_SELECTOR, ".live-responses-table .microlight").text
    assert '"data"' in body
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == [], errors
