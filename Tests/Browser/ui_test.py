#!/usr/bin/env python3
"""Real-browser check of Tern's web UI: headless Chromium driven by Selenium 4.

Reads from the environment:
  TERN_URL            base URL of a running server, e.g. http://127.0.0.1:8080
  TERN_EMAIL          a user that can log in
  TERN_PASSWORD       that user's password
  TERN_PROJECT        project slug, e.g. default
  TERN_XSS_TRACE_ID   a trace whose input holds <script>window.__xss=1</script> and whose name is
                      <img src=x onerror="window.__xss=2">
  TERN_SCREENSHOTS    directory for NN-step.png screenshots (created), and failure.png/.html
  TERN_TEST_CHROMIUM, TERN_TEST_CHROMEDRIVER   chromium and chromedriver (scripts/lib/browser.sh)
  TERN_UI_TIMEOUT     optional, seconds for each explicit wait (default 20)

Prints 'all browser checks passed' and exits 0, or names the failed step and exits 1.
"""

import os
import re
import sys
import traceback
from urllib.parse import parse_qs, urlparse

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

XSS_INPUT = "<script>window.__xss=1</script>"
FILTER_VALUE = "refund"


class CheckFailed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise CheckFailed(message)


class UITest:
    def __init__(self):
        env = os.environ
        self.base = env["TERN_URL"].rstrip("/")
        self.email = env["TERN_EMAIL"]
        self.password = env["TERN_PASSWORD"]
        self.project = env["TERN_PROJECT"]
        self.xss_trace_id = env["TERN_XSS_TRACE_ID"]
        self.shots = env["TERN_SCREENSHOTS"]
        self.timeout = float(env.get("TERN_UI_TIMEOUT", "20"))
        os.makedirs(self.shots, exist_ok=True)
        self.driver = self.start_browser(env.get("TERN_TEST_CHROMIUM"), env.get("TERN_TEST_CHROMEDRIVER"))
        self.wait = WebDriverWait(self.driver, self.timeout)
        self.trace_detail_url = None

    @staticmethod
    def start_browser(chromium, chromedriver):
        options = webdriver.ChromeOptions()
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
            options.add_argument(arg)
        if chromium:
            options.binary_location = chromium
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        # An explicit driver path keeps Selenium Manager (which would download a driver) out of it.
        service = Service(executable_path=chromedriver) if chromedriver else Service()
        return webdriver.Chrome(service=service, options=options)

    # ---- helpers ---------------------------------------------------------------------------------

    def url(self, path):
        return self.base + path

    def path(self):
        return urlparse(self.driver.current_url).path

    def query(self):
        return parse_qs(urlparse(self.driver.current_url).query)

    def css(self, selector, root=None):
        return (root or self.driver).find_elements(By.CSS_SELECTOR, selector)

    def wait_for(self, condition, what):
        try:
            return self.wait.until(condition)
        except TimeoutException:
            raise CheckFailed(f"timed out after {self.timeout:g}s waiting for {what}") from None

    def present(self, selector):
        return self.wait_for(EC.presence_of_element_located((By.CSS_SELECTOR, selector)), selector)

    def mark_page(self):
        """Tags the current document so that wait_new_page can tell when a navigation replaced it."""
        self.driver.execute_script("window.__ternOldPage = true;")

    def wait_new_page(self, what):
        """Waits until the document tagged by mark_page is gone and its successor has loaded.

        (EC.staleness_of is unreliable here: chromedriver may answer 'Node with given id does not
        belong to the document' mid-navigation.) Errors while the page is in flux are retried."""
        def loaded(driver):
            return driver.execute_script(
                "return window.__ternOldPage === undefined && document.readyState === 'complete';")
        waiter = WebDriverWait(self.driver, self.timeout, ignored_exceptions=(WebDriverException,))
        try:
            waiter.until(loaded)
        except TimeoutException:
            raise CheckFailed(f"timed out after {self.timeout:g}s waiting for a new page after {what}") from None

    def shot(self, name):
        self.driver.save_screenshot(os.path.join(self.shots, f"{name}.png"))

    def page_text(self):
        """The document's text without <script>/<style>/<template> contents (hidden text included)."""
        return self.driver.execute_script(
            "const c = document.body.cloneNode(true);"
            "c.querySelectorAll('script, style, template, noscript').forEach(e => e.remove());"
            "return c.textContent;"
        )

    def trace_rows(self):
        return self.css("#traces-table tbody tr")

    def submit_filters(self, what):
        """Clicks #filter-submit (after mark_page and the filter inputs were set)."""
        try:
            if self.driver.execute_script("return window.__ternOldPage === true;"):
                self.present("#filter-submit").click()
            # else: the form already navigated by itself (a select that submits on change)
        except (StaleElementReferenceException, WebDriverException):
            pass  # the page went away under the click for the same reason
        self.wait_new_page(what)
        return self.present("#traces-table")

    def assert_no_xss(self, where):
        fired = self.driver.execute_script("return window.__xss")
        check(fired is None, f"{where}: injected script ran (window.__xss = {fired!r})")
        # Injected markup that became real elements, even if it has not run (yet).
        live = self.driver.execute_script(
            "return Array.from(document.querySelectorAll('[onerror]'))"
            ".filter(e => e.getAttribute('onerror').includes('__xss')).length"
            " + Array.from(document.scripts).filter(e => e.textContent.trim() === 'window.__xss=1').length;"
        )
        check(live == 0, f"{where}: {live} element(s) made from the injected markup are in the DOM")

    # ---- steps -----------------------------------------------------------------------------------

    def step_login(self):
        self.driver.get(self.url("/ui/"))
        self.wait_for(lambda d: self.path().startswith("/ui/login"), "the redirect to /ui/login")
        self.present("#login-email")
        self.shot("01-login-page")

        self.fill_login(self.email, self.password + "-wrong")
        self.present(".flash.error")
        check(self.path().startswith("/ui/login"),
              f"a wrong password left the login page for {self.driver.current_url}")
        self.shot("02-login-wrong-password")

        self.fill_login(self.email, self.password)
        dashboard = f"/ui/{self.project}/dashboard"
        self.wait_for(lambda d: self.path() == dashboard, f"the redirect to {dashboard} after login")
        self.present("#dashboard")
        self.shot("03-login-dashboard")

    def fill_login(self, email, password):
        for selector, value in (("#login-email", email), ("#login-password", password)):
            field = self.present(selector)
            field.clear()
            field.send_keys(value)
        self.mark_page()
        self.present("#login-submit").click()
        self.wait_new_page("submitting the login form")

    def step_dashboard(self):
        charts = self.css(".chart svg")
        check(len(charts) >= 3, f"expected at least 3 svg charts inside .chart, found {len(charts)}")
        for index, svg in enumerate(charts):
            titles = self.css("title", svg)
            check(titles, f"svg #{index + 1} inside .chart has no <title> hover text")
        kpi = self.present("#kpi-traces").text
        number = re.search(r"\d[\d,\u00a0\u202f ]*(\.\d+)?", kpi)
        check(number, f"#kpi-traces holds no number: {kpi!r}")
        value = float(re.sub(r"[,\u00a0\u202f ]", "", number.group(0)))
        check(value > 0, f"#kpi-traces is {kpi!r}, expected a number > 0")
        self.shot("04-dashboard")

        self.mark_page()
        Select(self.present("#range")).select_by_value("7d")
        self.wait_new_page("choosing 7d in #range (the select must navigate on change)")
        check(self.query().get("range") == ["7d"], f"URL {self.driver.current_url} lacks range=7d")
        self.present("#dashboard")
        chosen = Select(self.present("#range")).first_selected_option.get_attribute("value")
        check(chosen == "7d", f"#range shows {chosen!r} after reload, expected '7d'")
        self.shot("05-dashboard-7d")

    def step_traces(self):
        self.present("#nav-traces").click()
        self.present("#traces-table")
        all_rows = len(self.trace_rows())
        check(all_rows > 0, "#traces-table has no rows before filtering")
        self.shot("06-traces")

        query = self.present("#trace-filters input[name=q]")
        query.clear()
        query.send_keys(FILTER_VALUE)
        self.mark_page()
        self.submit_filters("filtering by q")
        check(self.query().get("q") == [FILTER_VALUE], f"URL {self.driver.current_url} lacks q={FILTER_VALUE}")
        rows = self.trace_rows()
        check(rows, f"no rows for q={FILTER_VALUE}")
        check(len(rows) < all_rows, f"q={FILTER_VALUE} kept {len(rows)} of {all_rows} rows (expected fewer)")
        for index, row in enumerate(rows):
            cells = self.css(".trace-input", row)
            check(cells, f"row {index + 1} has no .trace-input cell")
            shown = (cells[0].text + " " + (cells[0].get_attribute("title") or "")).lower()
            check(FILTER_VALUE in shown, f"row {index + 1} .trace-input does not contain {FILTER_VALUE!r}: {cells[0].text!r}")
        self.shot("07-traces-q")

        query = self.present("#trace-filters input[name=q]")
        query.clear()
        self.mark_page()
        Select(self.present("#trace-filters select[name=status]")).select_by_value("error")
        self.submit_filters("filtering by status")
        check(self.query().get("status") == ["error"], f"URL {self.driver.current_url} lacks status=error")
        rows = self.trace_rows()
        check(rows, "no rows for status=error (seed at least one error trace)")
        for index, row in enumerate(rows):
            check(self.css(".badge.error", row), f"row {index + 1} of status=error has no .badge.error")
        self.shot("08-traces-status-error")

    def step_trace_detail(self):
        self.driver.get(self.url(f"/ui/{self.project}/traces?q={FILTER_VALUE}"))
        self.present("#traces-table")
        links = self.css("a.trace-link")
        check(links, f"no a.trace-link on the traces page for q={FILTER_VALUE}")
        links[0].click()
        self.present("#trace-detail")
        nodes = self.css("#observation-tree .tree-node")
        check(nodes, "#observation-tree has no .tree-node")
        self.present("#waterfall")
        self.trace_detail_url = self.driver.current_url
        self.shot("09-trace-detail")

    def step_score(self):
        form = "#score-form"
        for selector, value in ((f"{form} input[name=name]", "helpfulness"),
                                (f"{form} input[name=value]", "0.8"),
                                (f"{form} textarea[name=comment]", "clear answer")):
            field = self.present(selector)
            field.clear()
            field.send_keys(value)
        self.shot("10-score-form")
        self.mark_page()
        self.present("#score-submit").click()
        self.wait_new_page("submitting the score form")

        def scored_row(driver):
            for row in self.css("#scores-table tr"):
                text = row.text
                if "helpfulness" in text and "0.8" in text and "clear answer" in text:
                    return row
            return False

        self.wait_for(scored_row, "a #scores-table row with helpfulness, 0.8 and clear answer")
        self.shot("11-score-added")

    def step_xss(self):
        self.driver.get(self.url(f"/ui/{self.project}/traces/{self.xss_trace_id}"))
        self.present("#trace-detail")
        self.assert_no_xss("trace detail")
        check(XSS_INPUT in self.page_text(), f"the trace detail does not show {XSS_INPUT} as text")
        self.shot("12-xss-detail")

        self.driver.get(self.url(f"/ui/{self.project}/traces"))
        self.present("#traces-table")
        self.assert_no_xss("traces list")
        self.shot("13-xss-list")

    def step_keyboard(self):
        self.driver.get(self.url(f"/ui/{self.project}/traces"))
        self.present("#traces-table")
        self.driver.execute_script("if (document.activeElement) document.activeElement.blur();")
        ActionChains(self.driver).send_keys("/").perform()
        self.wait_for(lambda d: d.switch_to.active_element.get_attribute("name") == "q"
                      and self.css("#trace-filters input[name=q]")[0] == d.switch_to.active_element,
                      "'/' to focus #trace-filters input[name=q]")
        self.shot("14-keyboard-slash")

    def step_sessions_users(self):
        self.present("#nav-sessions").click()
        self.present("#sessions-table")
        self.shot("15-sessions")
        self.present("#nav-users").click()
        self.present("#users-table")
        self.shot("16-users")

    # ---- driver ----------------------------------------------------------------------------------

    def run(self):
        steps = [self.step_login, self.step_dashboard, self.step_traces, self.step_trace_detail,
                 self.step_score, self.step_xss, self.step_keyboard, self.step_sessions_users]
        for step in steps:
            name = step.__name__.removeprefix("step_")
            try:
                step()
            except Exception as error:  # noqa: BLE001 - every failure is reported the same way
                self.report_failure(name, error)
                return 1
            print(f"ok: {name}", flush=True)
        print("all browser checks passed", flush=True)
        return 0

    def report_failure(self, name, error):
        driver = self.driver
        print(f"FAILED step {name}: {error}", file=sys.stderr)
        if not isinstance(error, CheckFailed):
            traceback.print_exception(error, file=sys.stderr)
        try:
            print(f"  url:   {driver.current_url}", file=sys.stderr)
            print(f"  title: {driver.title}", file=sys.stderr)
            driver.save_screenshot(os.path.join(self.shots, "failure.png"))
            with open(os.path.join(self.shots, "failure.html"), "w", encoding="utf-8") as out:
                out.write(driver.page_source)
            for entry in driver.get_log("browser"):
                print(f"  console {entry.get('level')}: {entry.get('message')}", file=sys.stderr)
            print(f"  saved failure.png and failure.html in {self.shots}", file=sys.stderr)
        except Exception as secondary:  # noqa: BLE001
            print(f"  (could not capture the failure: {secondary})", file=sys.stderr)

    def close(self):
        try:
            self.driver.quit()
        except Exception:  # noqa: BLE001
            pass


REQUIRED_ENV = ("TERN_URL", "TERN_EMAIL", "TERN_PASSWORD", "TERN_PROJECT", "TERN_XSS_TRACE_ID", "TERN_SCREENSHOTS")


def main():
    missing = [name for name in REQUIRED_ENV if not os.environ.get(name)]
    if missing:
        print(f"FAILED setup: missing environment variables {', '.join(missing)}", file=sys.stderr)
        return 1
    try:
        test = UITest()
    except Exception as error:  # noqa: BLE001
        print(f"FAILED setup: could not start headless Chromium: {error}", file=sys.stderr)
        return 1
    try:
        return test.run()
    finally:
        test.close()


if __name__ == "__main__":
    sys.exit(main())
