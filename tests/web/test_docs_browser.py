"""The interactive docs, driven in headless Chromium (Debian's chromium and chromedriver)."""

from __future__ import annotations

import pytest

from tests.web.browser import chromium

pytestmark = pytest.mark.browser


@pytest.fixture
def browser():
    with chromium() as driver:
        yield driver


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
