"""Debian's chromium, headless, through Debian's chromedriver and Selenium's Python client:
what browser.py (tests/dashboard.rs) and timeline_bench.py drive."""

from selenium import webdriver
from selenium.webdriver.chrome.service import Service


def driver():
    """A new headless chromium that reaches nothing but what it is sent to."""
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000",
                "--no-first-run", "--disable-background-networking"]:
        options.add_argument(arg)
    return webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
