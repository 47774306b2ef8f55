"""Drives the dashboard in a real browser: Debian's chromium, headless, through Debian's
chromedriver and Selenium's Python client. Signs in with the key, opens a day, searches,
keeps a screenshot, and prints one JSON object with what it saw; tests/dashboard.rs checks it.

    browser.py BASE_URL KEY DAY QUERY SCREENSHOT
"""

import json
import sys

import chrome

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

base, key, day, query, screenshot = sys.argv[1:6]

driver = chrome.driver()
# A click on a form's button starts a navigation; lookups wait for the next page's element.
driver.implicitly_wait(10)
wait = WebDriverWait(driver, 10)
seen = {}
try:
    driver.get(base + "/")
    seen["login_form"] = len(driver.find_elements(By.ID, "key")) == 1
    driver.find_element(By.ID, "key").send_keys("not-the-key-at-all")
    driver.find_element(By.ID, "signin").click()
    seen["wrong_key"] = driver.find_element(By.ID, "problem").text
    driver.find_element(By.ID, "key").send_keys(key)
    driver.find_element(By.ID, "signin").click()
    seen["signed_in"] = len(driver.find_elements(By.ID, "timeline")) == 1
    seen["cookies"] = [
        {"name": c["name"], "httpOnly": c.get("httpOnly"), "sameSite": c.get("sameSite")}
        for c in driver.get_cookies()
    ]
    # The day picker: a date typed into the field opens that day.
    field = driver.find_element(By.ID, "day")
    driver.execute_script("arguments[0].value = arguments[1]", field, day)
    driver.find_element(By.ID, "open-day").click()
    wait.until(EC.title_contains(day))
    seen["title"] = driver.title
    seen["rows"] = [r.text for r in driver.find_elements(By.CSS_SELECTOR, "#timeline tr")][1:]
    box = driver.find_element(By.ID, "q")
    box.send_keys(query)
    driver.find_element(By.ID, "search").click()
    seen["marks"] = [m.text for m in driver.find_elements(By.CSS_SELECTOR, "#results mark")]
    seen["results"] = [li.text for li in driver.find_elements(By.CSS_SELECTOR, "#results li")]
    seen["plugins_table"] = len(driver.find_elements(By.ID, "plugins")) == 1
    driver.save_screenshot(screenshot)
finally:
    driver.quit()
print(json.dumps(seen))
