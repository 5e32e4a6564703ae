"""Drives the web dashboard in a real headless Chromium (Debian's chromium and chromium-driver,
through selenium from PyPI, pinned in scripts/setup's venv .build/ui-venv).

Started by Tests/IntegrationTests/DashboardBrowserTests.swift against a real `tidemark dashboard`
fed by real agents. Environment:
  TIDEMARK_UI_URL            https://localhost:PORT of the dashboard
  TIDEMARK_UI_ADMIN_TOKEN    the admin token
  TIDEMARK_UI_READ_TOKEN     a read-only token scoped to TIDEMARK_UI_OWN_ACCOUNT
  TIDEMARK_UI_LIVE_ACCOUNT   the account whose simulator the test starts after {"step": "watching"}
  TIDEMARK_UI_OWN_ACCOUNT    the read-only token's account (already fed)
  TIDEMARK_UI_SCREENSHOTS    where the PNGs go
  TIDEMARK_UI_SETTLED_AT     broker time (ms) the live account reaches when its recording has played

Prints one JSON object a line: {"step": "watching"} once the pages are open (the test then starts
the simulator), {"step": "done", ...} with what it saw, or {"step": "failed", "error": ...}.
Every wait has a deadline.
"""

import json
import os
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

URL = os.environ["TIDEMARK_UI_URL"]
ADMIN = os.environ["TIDEMARK_UI_ADMIN_TOKEN"]
READ = os.environ["TIDEMARK_UI_READ_TOKEN"]
LIVE = os.environ["TIDEMARK_UI_LIVE_ACCOUNT"]
OWN = os.environ["TIDEMARK_UI_OWN_ACCOUNT"]
SHOTS = os.environ["TIDEMARK_UI_SCREENSHOTS"]
# Broker milliseconds the live account reaches at the end of its recording (before the screenshots).
SETTLED = int(os.environ["TIDEMARK_UI_SETTLED_AT"])


def say(**fields):
    print(json.dumps(fields), flush=True)


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("TIDEMARK_CHROMIUM", "/usr/bin/chromium")
    # Root in a container: no sandbox. The test's CA is not the system's: accept its certificate.
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900",
                     "--disable-gpu", "--hide-scrollbars"):
        options.add_argument(argument)
    options.accept_insecure_certs = True
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=os.environ.get("TIDEMARK_CHROMEDRIVER", "/usr/bin/chromedriver"))
    return webdriver.Chrome(options=options, service=service)


class Console:
    """Every console message at SEVERE level (errors), from every tab."""

    def __init__(self, driver):
        self.driver = driver
        self.errors = []

    def collect(self):
        for entry in self.driver.get_log("browser"):
            if entry.get("level") == "SEVERE":
                self.errors.append(entry.get("message", ""))


def wait(driver, seconds, what, condition):
    # Live pages replace rows as values arrive: an element read just as it is replaced is stale,
    # and the condition is simply asked again.
    waiter = WebDriverWait(driver, seconds, poll_frequency=0.1,
                           ignored_exceptions=(NoSuchElementException, StaleElementReferenceException))
    try:
        return waiter.until(lambda d: condition(d))
    except TimeoutException as error:
        raise RuntimeError(f"timed out after {seconds} s waiting for {what}") from error


def login(driver, token):
    driver.get(URL + "/login")
    field = wait(driver, 20, "the login form", lambda d: d.find_element(By.ID, "token"))
    field.send_keys(token)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait(driver, 20, "the overview", lambda d: d.find_elements(By.CSS_SELECTOR, "#accounts tbody"))


def row_equity(driver, account):
    try:
        cells = driver.find_elements(By.CSS_SELECTOR, f'#accounts tr[data-account="{account}"] td[data-field="equity"]')
        return cells[0].text if cells else None
    except StaleElementReferenceException:
        return None


def open_page(driver, route, page):
    """Goes to a hash route and waits until the app has drawn that page (main's data-page)."""
    driver.get(URL + "/" + route)
    wait(driver, 30, f"the {page} page", lambda d: d.find_elements(By.CSS_SELECTOR, f'main#view[data-page="{page}"]'))


def shoot(driver, console, name, route, ready_selector, width, height):
    driver.set_window_size(width, height)
    open_page(driver, route, name)
    wait(driver, 30, f"{name} to load", lambda d: d.find_elements(By.CSS_SELECTOR, ready_selector))
    time.sleep(0.3)  # lets the chart's SVG lay out at the new width before the picture (not a wait for data)
    path = os.path.join(SHOTS, f"{name}-{width}.png")
    driver.save_screenshot(path)
    console.collect()
    return path


def main():
    driver = browser()
    console = Console(driver)
    result = {"step": "done"}
    try:
        login(driver, ADMIN)
        overview = driver.current_window_handle
        driver.execute_script("window.__tidemarkMark = 'same page';")
        driver.switch_to.new_window("tab")
        alerts_tab = driver.current_window_handle
        open_page(driver, "#/alerts", "alerts")
        result["alertsBefore"] = len(driver.find_elements(By.CSS_SELECTOR, f'#alerts li[data-account="{LIVE}"]'))
        console.collect()
        driver.switch_to.window(overview)
        say(step="watching")

        # A live equity value changes while the simulator runs, on the page as loaded.
        first = wait(driver, 120, "the live account's equity", lambda d: (row_equity(d, LIVE) or "—") != "—" and row_equity(d, LIVE))
        seen = [first]
        deadline = time.time() + 120
        while time.time() < deadline and len(seen) < 3:
            value = row_equity(driver, LIVE)
            if value and value != "—" and value != seen[-1]:
                seen.append(value)
            time.sleep(0.05)
        result["equitySeen"] = seen
        result["samePage"] = driver.execute_script("return window.__tidemarkMark") == "same page"
        console.collect()

        # The breach arrives in the alert feed opened before it happened.
        driver.switch_to.window(alerts_tab)
        item = wait(driver, 150, "the breach in the alert feed",
                    lambda d: d.find_elements(By.CSS_SELECTOR, f'#alerts li[data-account="{LIVE}"]'))
        result["alert"] = item[0].text
        result["alertSamePage"] = driver.execute_script("return document.getElementById('alerts') !== null")
        console.collect()
        driver.close()
        driver.switch_to.window(overview)
        wait(driver, 30, "the breached row in red",
             lambda d: "breached" in (d.find_element(By.CSS_SELECTOR, f'#accounts tr[data-account="{LIVE}"]').get_attribute("class") or ""))
        result["rowRed"] = True
        console.collect()

        # The pictures show the whole run: wait until the live account's last ticks are in.
        settled = wait(driver, 150, "the live account's last ticks", lambda d: d.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "fetch('/ui/api/accounts', {credentials: 'same-origin'}).then(r => r.json())"
            ".then(rows => done(rows.some(r => r.accountId === arguments[0] && r.brokerTime >= arguments[1])))"
            ".catch(() => done(false));", LIVE, SETTLED))
        result["settled"] = settled
        shots = []
        for width, height in ((1280, 900), (375, 812)):
            shots.append(shoot(driver, console, "overview", "#/", "#accounts tbody tr[data-account]", width, height))
            shots.append(shoot(driver, console, "account", "#/account/" + LIVE, "#chart path.equity", width, height))
            shots.append(shoot(driver, console, "alerts", "#/alerts", "#alerts li", width, height))
            shots.append(shoot(driver, console, "challenges", "#/challenges", "main h1", width, height))
            shots.append(shoot(driver, console, "agents", "#/agents", "main table tbody tr", width, height))
        result["screenshots"] = shots
        driver.set_window_size(1280, 900)
        # The agents page: the agent whose terminal finished and which the test stopped turns red
        # (quiet), the running one does not.
        open_page(driver, "#/agents", "agents")
        wait(driver, 60, "the stopped agent shown as quiet", lambda d: d.find_elements(
            By.CSS_SELECTOR, 'tr.quiet[data-agent="CN=agent-b,O=Tidemark"]'))
        result["quietAgents"] = [r.get_attribute("data-agent") for r in driver.find_elements(By.CSS_SELECTOR, "tr.quiet[data-agent]")]
        # The challenges page: the competition's leaderboard ranks the live account.
        open_page(driver, "#/challenges", "challenges")
        result["leaderboard"] = [r.text for r in wait(driver, 30, "the leaderboard's rows", lambda d: d.find_elements(
            By.CSS_SELECTOR, "table.leaderboard tbody tr"))]
        # The overview filters as you type and sorts by a column's header.
        open_page(driver, "#/", "overview")
        wait(driver, 20, "the overview rows", lambda d: len(d.find_elements(By.CSS_SELECTOR, "#accounts tbody tr[data-account]")) == 2)
        driver.find_element(By.ID, "filter").send_keys(OWN.split(":")[-1])
        result["filtered"] = [r.get_attribute("data-account") for r in wait(
            driver, 10, "the filtered rows", lambda d: (lambda rows: rows if len(rows) == 1 else False)(
                d.find_elements(By.CSS_SELECTOR, "#accounts tbody tr[data-account]")))]
        driver.find_element(By.ID, "filter").clear()
        driver.execute_script("document.getElementById('filter').dispatchEvent(new Event('input'))")
        # Both accounts played the same recording (equal figures): sort by the one column that differs.
        orders = []
        for _ in range(2):
            driver.find_element(By.CSS_SELECTOR, '#accounts th[data-key="accountId"]').click()
            orders.append(driver.execute_script(
                "return [...document.querySelectorAll('#accounts tbody tr[data-account]')].map(tr => tr.dataset.account);"))
        result["accountOrders"] = orders
        open_page(driver, "#/account/" + LIVE, "account")
        wait(driver, 30, "the account's chart", lambda d: d.find_elements(By.CSS_SELECTOR, "#chart path.equity"))
        result["accountPage"] = {
            "floors": len(driver.find_elements(By.CSS_SELECTOR, "#chart .floor")),
            "eventMarks": len(driver.find_elements(By.CSS_SELECTOR, "#chart .event")),
            "progressRows": len(driver.find_elements(By.CSS_SELECTOR, "#progress tbody tr")),
            "statisticsRows": len(driver.find_elements(By.CSS_SELECTOR, "#statistics tbody tr")),
        }
        console.collect()
        result["adminConsoleErrors"] = list(console.errors)

        # A read-only token sees only its account.
        driver.find_element(By.CSS_SELECTOR, "form[action='/logout'] button").click()
        wait(driver, 20, "the login page after signing out", lambda d: d.find_elements(By.ID, "token"))
        login(driver, READ)
        wait(driver, 20, "the read-only overview", lambda d: d.find_elements(By.CSS_SELECTOR, "#accounts tbody tr[data-account]"))
        console.collect()
        result["readOnlyPageErrors"] = console.errors[len(result["adminConsoleErrors"]):]
        result["readOnlyRows"] = [r.get_attribute("data-account") for r in driver.find_elements(By.CSS_SELECTOR, "#accounts tbody tr[data-account]")]
        open_page(driver, "#/account/" + LIVE, "account")
        result["foreignHeading"] = driver.find_element(By.CSS_SELECTOR, "main h1").text
        statuses = {}
        for path in ("/ui/api/accounts/" + LIVE, "/ui/api/accounts/" + OWN, "/ui/api/agents"):
            statuses[path] = driver.execute_async_script(
                "const done = arguments[arguments.length - 1];"
                "fetch(arguments[0], {credentials: 'same-origin'}).then(r => done(r.status)).catch(e => done(String(e)));",
                path)
        # The agents' REST API on the dashboard takes the session cookie for reads, with the token's rights.
        for path in ("/users/current/accounts/" + LIVE, "/users/current/accounts/" + OWN):
            statuses[path] = driver.execute_async_script(
                "const done = arguments[arguments.length - 1];"
                "fetch(arguments[0], {credentials: 'same-origin'}).then(r => done(r.status)).catch(e => done(String(e)));",
                path)
        result["readOnlyApiAccounts"] = driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "fetch('/users/current/accounts', {credentials: 'same-origin'}).then(r => r.json())"
            ".then(list => done(list.map(a => a.id))).catch(e => done(String(e)));")
        result["readOnlyStatuses"] = statuses
        result["readOnlyAlerts"] = driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "fetch('/ui/api/alerts', {credentials: 'same-origin'}).then(r => r.json()).then(list => done(list.map(e => e.accountId))).catch(e => done(String(e)));")
        console.collect()
        # What is left after the pages: only the refusals this script asked for on purpose.
        result["refusalErrors"] = console.errors[len(result["adminConsoleErrors"]) + len(result["readOnlyPageErrors"]):]
        say(**result)
    except Exception as error:  # reported to the test as a line, with what was seen so far
        try:
            driver.save_screenshot(os.path.join(SHOTS, "failure.png"))
            console.collect()
        except Exception:
            pass
        say(step="failed", error=f"{type(error).__name__}: {error}", consoleErrors=console.errors, partial=result)
        sys.exit(1)
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
