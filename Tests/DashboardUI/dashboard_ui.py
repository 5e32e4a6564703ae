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
  TIDEMARK_UI_CHALLENGES     the live account's challenges, comma-separated
  TIDEMARK_UI_TRAILING       the one of them whose max loss trails the equity

Prints one JSON object a line: {"step": "watching"} once the pages are open (the test then starts
the simulator), {"step": "done", ...} with what it saw, or {"step": "failed", "error": ...}.
Every wait has a deadline.
"""

import json
import os
import sys
import time
from decimal import ROUND_HALF_UP, Decimal

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
CHALLENGES = os.environ["TIDEMARK_UI_CHALLENGES"].split(",")
TRAILING = os.environ["TIDEMARK_UI_TRAILING"]

# Records, in the page, every floor the trailing max loss shows (progress table and chart line) as
# the live values redraw them.
WATCH_TRAILING_FLOOR = """
window.__trailingFloors = [];
const selectors = ['#progress tr[data-challenge="' + arguments[0] + '"][data-rule="maxLoss"] td[data-field="floor"]',
                   '#chart line.floor[data-challenge="' + arguments[0] + '"][data-rule="maxLoss"]'];
new MutationObserver(() => {
  for (const selector of selectors) {
    const node = document.querySelector(selector);
    const value = node && node.dataset.value;
    const seen = window.__trailingFloors;
    if (value && seen[seen.length - 1] !== value) seen.push(value);
  }
}).observe(document.getElementById("view"), {subtree: true, childList: true, attributes: true});
"""

# Every equity-floor rule the account page shows: the exact figure it drew from and its text.
SHOWN_RULE_FIGURES = """
return [...document.querySelectorAll('#progress tr[data-rule]')].map(tr => ({
  challenge: tr.dataset.challenge, rule: tr.dataset.rule,
  floor: tr.querySelector('[data-field="floor"]').dataset.value || null,
  floorText: tr.querySelector('[data-field="floor"]').textContent,
  headroom: tr.querySelector('[data-field="headroom"]').dataset.value,
  headroomText: tr.querySelector('[data-field="headroom"]').textContent,
  chartFloor: (document.querySelector('#chart line.floor[data-challenge="' + tr.dataset.challenge + '"][data-rule="' + tr.dataset.rule + '"]') || {dataset: {}}).dataset.value || null,
}));
"""


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


def money(value):
    """A REST amount as the pages write it: two decimals, thousands separators."""
    return f"{Decimal(value).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,}"


def rest_statuses(driver):
    """The REST status of each of the live account's challenges (read with the session cookie),
    amounts kept exact."""
    statuses = {}
    for challenge in CHALLENGES:
        text = driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "fetch(arguments[0], {credentials: 'same-origin'}).then(r => r.text()).then(done).catch(e => done(''));",
            f"/users/current/accounts/{LIVE}/challenges/{challenge}/status")
        statuses[challenge] = json.loads(text, parse_float=Decimal, parse_int=Decimal) if text.startswith("{") else None
    return statuses


def rule_mismatches(shown, statuses):
    """Every shown equity-floor figure that differs from the REST status (exact value or its text)."""
    mismatches = []
    compared = 0
    for row in shown:
        status = statuses.get(row["challenge"]) or {}
        rule = next((r for r in status.get("rules", []) if r["rule"] == row["rule"]), None)
        if rule is None:
            mismatches.append(f"{row['challenge']} {row['rule']}: not in the REST status")
            continue
        compared += 1
        if Decimal(row["headroom"]) != rule["headroom"] or row["headroomText"] != money(rule["headroom"]):
            mismatches.append(f"{row['challenge']} {row['rule']} headroom {row['headroom']} '{row['headroomText']}' ≠ {rule['headroom']}")
        if "floor" in rule:
            if row["floor"] is None or Decimal(row["floor"]) != rule["floor"] or row["floorText"] != money(rule["floor"]):
                mismatches.append(f"{row['challenge']} {row['rule']} floor {row['floor']} '{row['floorText']}' ≠ {rule['floor']}")
            if row["chartFloor"] is None or Decimal(row["chartFloor"]) != rule["floor"]:
                mismatches.append(f"{row['challenge']} {row['rule']} chart floor {row['chartFloor']} ≠ {rule['floor']}")
    return compared, mismatches


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
        # A third tab on the live account's page, recording the trailing floor as it moves.
        driver.switch_to.new_window("tab")
        account_tab = driver.current_window_handle
        open_page(driver, "#/account/" + LIVE, "account")
        driver.execute_script(WATCH_TRAILING_FLOOR, TRAILING)
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
        driver.switch_to.window(account_tab)
        result["trailingFloors"] = driver.execute_script("return window.__trailingFloors")
        console.collect()
        driver.close()
        driver.switch_to.window(overview)
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
        # Every rule figure shown equals the REST status's, once the last progress is in (the page
        # is read again until it matches, within a deadline).
        check = {}

        def figures_match(d):
            d.refresh()
            wait(d, 30, "the account page", lambda d: d.find_elements(By.CSS_SELECTOR, 'main#view[data-page="account"] #progress tr[data-rule]'))
            check["statuses"] = rest_statuses(d)
            check["shown"] = d.execute_script(SHOWN_RULE_FIGURES)
            check["compared"], check["mismatches"] = rule_mismatches(check["shown"], check["statuses"])
            return not check["mismatches"]
        try:
            wait(driver, 60, "the account page's rules to equal the REST status", figures_match)
        except RuntimeError:
            pass  # reported below, with what differed
        result["ruleFiguresCompared"] = check.get("compared", 0)
        result["ruleMismatches"] = check.get("mismatches", ["never read"])
        result["shownRules"] = check.get("shown", [])
        statuses = check.get("statuses", {})
        floor_headrooms = [r["headroom"] for s in statuses.values() if s for r in s.get("rules", []) if "floor" in r]
        result["restFinalTrailingFloor"] = str(next((r["floor"] for r in (statuses.get(TRAILING) or {}).get("rules", [])
                                                     if r["rule"] == "maxLoss"), None))
        # The overview's closest rule: the smallest headroom of any equity floor, as REST reports it.
        open_page(driver, "#/", "overview")
        cell = wait(driver, 20, "the live account's headroom", lambda d: d.find_elements(
            By.CSS_SELECTOR, f'#accounts tr[data-account="{LIVE}"] td[data-field="headroom"]'))[0]
        result["overviewHeadroom"] = {"value": cell.get_attribute("data-value"), "text": cell.text}
        result["restClosestHeadroom"] = str(min(floor_headrooms)) if floor_headrooms else None
        result["restClosestHeadroomText"] = money(min(floor_headrooms)) if floor_headrooms else None
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
