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
  TERN_PROMPT         optional: a prompt with at least two versions, variables and a gateway model in
                      its configuration; enables the prompt steps (pages, diff, label move, playground)
  TERN_DATASET        optional: a dataset with items; enables the dataset and "add to dataset" steps
  TERN_NEW_PROMPT     optional: the name of a prompt to create in the UI (it must not exist); enables
                      the steps that create it and a second version by form and open their diff
  TERN_EXPERIMENT_MODELS  optional, with TERN_NEW_PROMPT and TERN_DATASET: comma-separated gateway models
                      that echo the last message (the stub upstream's echo-*); enables the steps that
                      start two runs by form (one per version), open a run's matrix, a cell's trace and
                      the comparison of the two runs. The dataset's items need a `question` variable

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
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

XSS_INPUT = "<script>window.__xss=1</script>"
XSS_OUTPUT = "<img src=x onerror=\"window.__xss=5\">"
NEW_DATASET = "from-browser"
# The new prompt's system message holds markup that must stay text on every page.
BROWSER_SYSTEM = "Answer in one line. <img src=x onerror=\"window.__xss=9\">"
# Echo models answer with the user message: v1's starts with Q:, v2's with R:.
RUN_ASSERTION = '[{"type": "starts-with", "value": "Q:"}]'
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
        self.prompt = env.get("TERN_PROMPT")
        self.dataset = env.get("TERN_DATASET")
        self.new_prompt = env.get("TERN_NEW_PROMPT")
        self.experiment_models = [m for m in env.get("TERN_EXPERIMENT_MODELS", "").split(",") if m]
        # Which groups of steps to run (the Swift tests run each group as a test of its own); all by default.
        self.groups = [g for g in env.get("TERN_STEPS", "explore,library,authoring").split(",") if g]
        self.runs = []

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
        # Chart text is never shown smaller than the 11px it is drawn at: each chart is at least as wide
        # as its drawing (viewBox), here at 1400 px and in a narrow window.
        for size in ((1400, 1000), (900, 1000)):
            self.driver.set_window_size(*size)
            for index, svg in enumerate(self.css(".chart svg.tern-chart")):
                drawn = self.driver.execute_script("return arguments[0].viewBox.baseVal.width", svg)
                shown = self.driver.execute_script("return arguments[0].getBoundingClientRect().width", svg)
                check(shown >= drawn - 0.5, f"chart #{index + 1} is shown {shown:.0f}px wide, drawn {drawn:.0f}px: its text is scaled below 11px at {size}")
                text = self.css("text", svg)
                if text:
                    font = self.driver.execute_script(
                        "const t = arguments[0], s = arguments[1]; const k = s.getBoundingClientRect().width / s.viewBox.baseVal.width;"
                        " return parseFloat(getComputedStyle(t).fontSize) * k", text[0], svg)
                    check(font >= 10.99, f"chart #{index + 1} text is {font:.1f}px at {size}")
        self.driver.set_window_size(1400, 1000)
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

        # The time range: "Custom" shows the from/to fields without leaving the page; a preset applies at once.
        self.driver.get(self.url(f"/ui/{self.project}/traces"))
        self.present("#traces-table")
        check(not self.present("#trace-from").is_displayed(), "#trace-from shows before Custom is chosen")
        Select(self.present("#trace-range")).select_by_value("custom")
        self.wait_for(lambda d: self.present("#trace-from").is_displayed(), "#trace-from to show after choosing Custom")
        self.mark_page()
        Select(self.present("#trace-range")).select_by_value("30d")
        self.wait_new_page("choosing 30d in #trace-range (a preset must apply at once)")
        check(self.query().get("range") == ["30d"], f"URL {self.driver.current_url} lacks range=30d")
        check(self.trace_rows(), "no rows in the last 30 days")
        # The column chooser: ask for the output column.
        self.present(".columns-chooser summary").click()
        self.present(".columns-chooser input[value=output]").click()
        self.mark_page()
        self.submit_filters("adding the output column")
        check("output" in (self.query().get("col") or []), f"URL {self.driver.current_url} lacks col=output")
        check(self.css("#traces-table td.trace-output"), "no output column after choosing it")
        self.shot("08b-traces-range-columns")

    def step_trace_detail(self):
        self.driver.get(self.url(f"/ui/{self.project}/traces?q={FILTER_VALUE}"))
        self.present("#traces-table")
        links = self.css("a.trace-link")
        check(links, f"no a.trace-link on the traces page for q={FILTER_VALUE}")
        links[0].click()
        self.present("#trace-detail")
        status = self.present("#trace-status").text.strip()
        check(status in ("ok", "error", "warning"), f"#trace-status shows {status!r}")
        top = self.driver.execute_script(
            "const i = document.querySelector('.split.io'), d = document.querySelector('#observation-tree');"
            " return i && d ? i.getBoundingClientRect().top < d.getBoundingClientRect().top : false;")
        check(top, "the trace's input and output are not above its details")
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

    def step_settings(self):
        self.present("#nav-settings").click()
        self.present("#keys-table")
        self.present("#key-name").send_keys("browser key")
        self.mark_page()
        self.present("#key-submit").click()
        self.wait_new_page("creating a key by form")
        secret = self.present("#key-secret").text.strip()
        check(secret.startswith("tern_"), f"#key-secret shows {secret!r}, expected a new key")
        check("browser key" in self.present("#keys-table").text, "the new key is not listed")
        self.driver.get(self.url(f"/ui/{self.project}/settings/keys"))
        check(secret not in self.page_text(), "the key's secret is shown again after a reload")
        self.driver.get(self.url(f"/ui/{self.project}/settings/models"))
        self.present("#models-table")
        self.shot("20-settings")

    def step_sessions_users(self):
        self.present("#nav-sessions").click()
        self.present("#sessions-table")
        self.shot("15-sessions")
        self.present("#nav-users").click()
        self.present("#users-table")
        self.shot("16-users")

    def step_prompts(self):
        self.present("#nav-prompts").click()
        self.present("#prompts-table")
        links = [a for a in self.css("a.prompt-link") if a.text == self.prompt]
        check(links, f"#prompts-table has no link for {self.prompt!r}")
        self.shot("17-prompts")
        self.mark_page()
        links[0].click()
        self.wait_new_page("opening the prompt")
        self.present("#prompt-page")
        check(len(self.css("#versions-table tbody tr")) >= 2, "the prompt page lists fewer than 2 versions")
        self.shot("18-prompt")
        # The version page marks the template's variables.
        self.mark_page()
        self.css("#versions-table a.version-link")[0].click()
        self.wait_new_page("opening the newest version")
        self.present("#prompt-template")
        check(self.css("#prompt-template mark.var"), "the version page does not mark the template's variables")
        self.assert_no_xss("prompt version")
        self.shot("19-prompt-version")

    def step_prompt_diff(self):
        self.driver.get(self.url(f"/ui/{self.project}/prompts/{self.prompt}"))
        self.present("#versions-table")
        self.mark_page()
        self.present("#versions-table a.diff-link").click()
        self.wait_new_page("opening a diff")
        self.present("#diff-table")
        query = self.query()
        check("base" in query and "head" in query, f"the diff URL {self.driver.current_url} lacks base= and head=")
        check(self.css("#diff-table td.code.add") and self.css("#diff-table td.code.del"),
              "the diff shows no added and removed lines side by side")
        self.assert_no_xss("prompt diff")
        self.shot("20-prompt-diff")
        # Choosing another base version reloads the diff (a stable URL).
        base = Select(self.present("#diff-base"))
        current = base.first_selected_option.get_attribute("value")
        other = [o.get_attribute("value") for o in base.options if o.get_attribute("value") != current]
        if other:
            self.mark_page()
            base.select_by_value(other[0])
            self.wait_new_page("choosing another base version")
            self.present("#diff-table")
            check(self.query().get("base") == [other[0]], f"the diff URL {self.driver.current_url} lacks base={other[0]}")

    def step_label_move(self):
        self.driver.get(self.url(f"/ui/{self.project}/prompts/{self.prompt}"))
        self.present("#label-form")
        versions = Select(self.present("#label-version"))
        newest = versions.options[0].get_attribute("value")
        field = self.present("#label-name")
        field.clear()
        field.send_keys("production")
        versions.select_by_value(newest)
        self.shot("21-label-form")
        self.mark_page()
        self.present("#label-submit").click()
        self.wait_new_page("moving the label")
        rows = self.css("#label-moves tbody tr")
        check(rows, "#label-moves is empty after moving a label")
        first = rows[0].text
        check("production" in first and f"v{newest}" in first, f"the newest label move reads {first!r}, expected production to v{newest}")
        check(self.css("#label-moves .rollback-form"), "the label history offers no rollback")
        self.shot("22-label-moved")

    def step_playground(self):
        self.driver.get(self.url(f"/ui/{self.project}/prompts/{self.prompt}"))
        self.mark_page()
        self.present("#open-playground").click()
        self.wait_new_page("opening the playground")
        self.present("#playground-form")
        check(self.css("#playground-form textarea.playground-message"), "the playground's messages are not editable")
        fields = self.css("#playground-form textarea[name^='var.']")
        check(fields, "the playground shows no variable fields")
        # First run with a variable left empty: the error names it.
        for field in fields[1:]:
            field.clear()
            field.send_keys("filled")
        fields[0].clear()
        missing = fields[0].get_attribute("name").removeprefix("var.")
        boxes = self.css("#playground-form input[name=model]")
        check(boxes, "the playground offers no models")
        if not any(box.is_selected() for box in boxes):
            boxes[0].click()
        self.mark_page()
        self.present("#playground-run").click()
        self.wait_new_page("running the playground with a missing variable")
        error = self.present("#playground-error").text
        check(missing in error, f"the playground error {error!r} does not name the missing variable {missing!r}")
        self.shot("23-playground-missing")
        for field in self.css("#playground-form textarea[name^='var.']"):
            field.clear()
            field.send_keys("Acme")
        for box in self.css("#playground-form input[name=model]"):
            if not box.is_selected():
                box.click()
        self.mark_page()
        # Ctrl+Enter in a variable field runs it too.
        self.css("#playground-form textarea[name^='var.']")[0].send_keys(Keys.CONTROL, Keys.ENTER)
        self.wait_new_page("running the playground (Ctrl+Enter)")
        results = self.css("#playground-results .result")
        check(len(results) >= 2, f"expected a result per model side by side, found {len(results)}")
        for index, result in enumerate(results):
            check(self.css(".result-output", result), f"result {index + 1} has no output: {result.text!r}")
            check(re.search(r"\d", self.css(".result-tokens", result)[0].text), f"result {index + 1} shows no tokens")
            check(self.css(".result-cost", result)[0].text.strip(), f"result {index + 1} shows no cost cell")
            check(self.css("a.result-trace", result), f"result {index + 1} has no trace link")
        costs = [cell.text for cell in self.css("#playground-results .result-cost")]
        check(any(cost.startswith("$") for cost in costs), f"no result shows a cost in dollars: {costs!r}")
        self.assert_no_xss("playground results")
        check(XSS_OUTPUT in self.page_text(), f"the playground does not show the model's {XSS_OUTPUT!r} as text")
        self.shot("24-playground-results")
        self.mark_page()
        self.css("#playground-results a.result-trace")[0].click()
        self.wait_new_page("opening a playground trace")
        self.present("#trace-detail")
        self.shot("25-playground-trace")

    def step_dataset(self):
        self.present("#nav-datasets").click()
        self.present("#datasets-table")
        links = [a for a in self.css("a.dataset-link") if a.text == self.dataset]
        check(links, f"#datasets-table has no link for {self.dataset!r}")
        self.shot("26-datasets")
        self.mark_page()
        links[0].click()
        self.wait_new_page("opening the dataset")
        rows = self.css("#items-table tbody tr")
        check(rows, "#items-table has no rows")
        self.assert_no_xss("dataset items")
        self.shot("27-dataset")
        # Edit the first item: a new version, and the page says so.
        self.mark_page()
        self.css("#items-table a.item-link")[0].click()
        self.wait_new_page("opening an item")
        self.present("#item-form")
        self.assert_no_xss("dataset item form")
        expected = self.present("#item-expected")
        expected.clear()
        expected.send_keys("Checked by the browser test.")
        golden = self.present("#item-golden")
        if not golden.is_selected():
            golden.click()
        self.shot("27b-dataset-item")
        self.mark_page()
        self.present("#item-submit").click()
        self.wait_new_page("saving the item")
        flash = self.present(".flash.ok").text
        check("Saved as version 2" in flash, f"after saving the item the page says {flash!r}")
        check("Checked by the browser test." in self.present("#items-table").text, "the edited expected output is not in the table")
        self.shot("27c-dataset-saved")
        self.mark_page()
        self.present("#stats-link").click()
        self.wait_new_page("opening the dataset statistics")
        check(len(self.css("#dataset-stats .chart svg")) >= 3, "the statistics page has fewer than 3 charts")
        self.shot("28-dataset-stats")

    def step_add_to_dataset(self):
        check(self.trace_detail_url, "no trace was opened before")
        self.driver.get(self.trace_detail_url)
        self.present("#add-to-dataset")
        fresh = self.present("#dataset-new")
        fresh.clear()
        fresh.send_keys(NEW_DATASET)
        self.shot("29-add-to-dataset")
        self.mark_page()
        self.present("#dataset-submit").click()
        self.wait_new_page("adding the trace to a dataset")
        note = self.present("#added-to-dataset")
        check(NEW_DATASET in note.text, f"the note after adding reads {note.text!r}")
        self.shot("30-added-to-dataset")
        self.mark_page()
        note.find_element(By.CSS_SELECTOR, "a").click()
        self.wait_new_page("opening the new dataset")
        rows = self.css("#items-table tbody tr")
        check(len(rows) == 1, f"the new dataset has {len(rows)} items, expected 1")
        check(self.css("#items-table a.source-trace"), "the item does not link its source trace")
        self.shot("31-dataset-from-trace")

    # ---- prompts and experiments made in the UI ----------------------------------------------------

    def follow(self, selector, what):
        """Clicks the element and waits for the page it leads to."""
        self.mark_page()
        self.present(selector).click()
        self.wait_new_page(what)

    def message_rows(self):
        return self.css("#message-rows .message-row")

    def set_field(self, element, value):
        element.clear()
        element.send_keys(value)

    def step_prompt_create(self):
        self.driver.get(self.url(f"/ui/{self.project}/prompts"))
        self.follow("#new-prompt", "opening the new prompt form")
        self.present("#prompt-form")
        check(self.present("#prompt-kind-chat").is_selected(), "a new prompt is not a chat prompt by default")
        check(not self.present("#text-section").is_displayed(), "the text field shows while chat is chosen")
        rows = self.message_rows()
        check(len(rows) == 2, f"a new prompt starts with {len(rows)} message rows, expected 2 (system, user)")
        self.set_field(self.present("#prompt-name"), self.new_prompt)
        self.set_field(self.css("textarea", rows[0])[0], BROWSER_SYSTEM)
        self.set_field(self.css("textarea", rows[1])[0], "Q: {{question}}")
        # Add a row and remove it again: the script does it in place, without a round trip.
        self.mark_page()
        self.present("#add-message").click()
        self.wait_for(lambda d: len(self.message_rows()) == 3, "a third message row after Add message")
        third = self.message_rows()[2]
        check(third.find_element(By.CSS_SELECTOR, "textarea") == self.driver.switch_to.active_element,
              "the new row's content field does not have the focus")
        third.find_element(By.CSS_SELECTOR, "textarea").send_keys("to be removed")
        Select(third.find_element(By.CSS_SELECTOR, "select")).select_by_value("assistant")
        self.shot("32-prompt-new-rows")
        third.find_element(By.CSS_SELECTOR, ".remove-message").click()
        self.wait_for(lambda d: len(self.message_rows()) == 2, "two message rows after Remove")
        check(self.driver.execute_script("return window.__ternOldPage === true;"),
              "adding or removing a message row reloaded the page (the script should do it in place)")
        # The type switch shows the text field and back.
        self.present("#prompt-kind-text").click()
        self.wait_for(lambda d: self.present("#text-section").is_displayed() and not self.present("#messages-section").is_displayed(),
                      "the text field (and no messages) after choosing text")
        self.present("#prompt-kind-chat").click()
        self.wait_for(lambda d: self.present("#messages-section").is_displayed(), "the messages again after choosing chat")
        # Declare too few variables: the error stands under the field, everything typed stays.
        self.set_field(self.present("#prompt-variables"), "company")
        self.set_field(self.present("#prompt-temperature"), "0.4")
        self.set_field(self.present("#prompt-commit"), "created in the browser")
        self.follow("#prompt-save", "saving a prompt with an undeclared variable")
        self.present("#prompt-errors")
        error = self.present("#prompt-variables ~ .field-error").text
        check("question" in error, f"the variables error reads {error!r}, expected it to name question")
        rows = self.message_rows()
        kept = [self.css("textarea", row)[0].get_attribute("value") for row in rows]
        check(kept == [BROWSER_SYSTEM, "Q: {{question}}"], f"the messages after the error are {kept!r}")
        check(self.present("#prompt-name").get_attribute("value") == self.new_prompt, "the name was lost")
        check(self.present("#prompt-temperature").get_attribute("value") == "0.4", "the temperature was lost")
        self.assert_no_xss("the prompt form with an error")
        self.shot("33-prompt-new-error")
        self.set_field(self.present("#prompt-variables"), "question")
        if not self.present("#label-staging").is_selected():
            self.present("#label-staging").click()
        self.follow("#prompt-save", "creating the prompt")
        self.present("#prompt-version")
        flash = self.present(".flash.ok").text
        check("Saved as v1" in flash, f"after creating the prompt the page says {flash!r}")
        check(self.path() == f"/ui/{self.project}/prompts/{self.new_prompt}/versions/1", f"the new prompt opened {self.path()}")
        check("staging" in self.present("#prompt-version h1").text, "the staging label is not on the new version")
        self.assert_no_xss("the new prompt's version page")
        check(BROWSER_SYSTEM in self.page_text(), "the version page does not show the system message as text")
        self.shot("34-prompt-created")

    def step_prompt_new_version(self):
        self.follow("#version-edit", "opening the new version form")
        rows = self.message_rows()
        values = [self.css("textarea", row)[0].get_attribute("value") for row in rows]
        check(values == [BROWSER_SYSTEM, "Q: {{question}}"], f"the new version form is not filled from v1: {values!r}")
        check(self.present("#prompt-temperature").get_attribute("value") == "0.4", "the temperature is not filled from v1")
        # Saved unchanged: nothing is made, and the page says so.
        self.follow("#prompt-save", "saving an unchanged version")
        notice = self.present("main .flash").text
        check("Nothing changed" in notice, f"saving unchanged says {notice!r}")
        check(self.path().endswith("/versions/1"), f"saving unchanged went to {self.path()}")
        self.shot("35-prompt-unchanged")
        self.follow("#version-edit", "opening the new version form again")
        self.set_field(self.css("textarea", self.message_rows()[1])[0], "R: {{question}}")
        self.set_field(self.present("#prompt-commit"), "second in the browser")
        self.mark_page()
        # Ctrl+Enter in a field saves the form.
        self.present("#prompt-commit").send_keys(Keys.CONTROL, Keys.ENTER)
        self.wait_new_page("saving the second version (Ctrl+Enter)")
        flash = self.present(".flash.ok").text
        check("Saved as v2" in flash, f"after saving the second version the page says {flash!r}")
        self.shot("36-prompt-v2")
        self.follow("#diff-previous", "opening the diff with the previous version")
        self.present("#diff-table")
        removed = " ".join(cell.text for cell in self.css("#diff-table td.code.del"))
        added = " ".join(cell.text for cell in self.css("#diff-table td.code.add"))
        check("Q: {{question}}" in removed and "R: {{question}}" in added, f"the diff shows removed {removed!r} and added {added!r}")
        self.assert_no_xss("the new prompt's diff")
        self.shot("37-prompt-diff-v1-v2")

    def wait_run_finished(self, what):
        """Waits (the page reloads itself while the run is in progress) until the run shows completed."""
        def status(driver):
            text = driver.execute_script("var e = document.getElementById('experiment-status'); return e ? e.textContent : null;")
            return text if text in ("completed", "failed", "cancelled") else False
        waiter = WebDriverWait(self.driver, self.timeout, ignored_exceptions=(WebDriverException,))
        try:
            final = waiter.until(status)
        except TimeoutException:
            raise CheckFailed(f"timed out after {self.timeout:g}s waiting for {what} to finish") from None
        check(final == "completed", f"{what} ended {final}: {self.page_text()[:400]!r}")
        self.present("#experiment-matrix")

    def start_run(self, name, version, shot):
        """Fills the run form (already open) for one version of the new prompt and starts it."""
        self.set_field(self.present("#run-name"), name)
        Select(self.present("#run-dataset")).select_by_value(self.dataset)
        for box in self.css("#run-prompts input[name=prompt]"):
            wanted = box.get_attribute("value") == f"{self.new_prompt}@{version}"
            if box.is_selected() != wanted:
                box.click()
        for box in self.css("#run-models input[name=model]"):
            if box.is_selected() != (box.get_attribute("value") in self.experiment_models):
                box.click()
        self.set_field(self.present("#run-assert"), RUN_ASSERTION)
        self.shot(shot)
        self.follow("#run-submit", f"starting {name}")
        self.wait_run_finished(name)
        self.runs.append(self.path().rsplit("/", 1)[-1])

    def step_experiment_runs(self):
        self.present("#nav-experiments").click()
        self.present("#experiments")
        self.follow("#new-run", "opening the new run form")
        self.present("#run-form")
        # First without a model: the error stands under the models, the choices stay.
        Select(self.present("#run-dataset")).select_by_value(self.dataset)
        self.present(f"#run-prompts input[value='{self.new_prompt}@1']").click()
        for box in self.css("#run-models input[name=model]"):
            if box.is_selected():
                box.click()
        self.set_field(self.present("#run-assert"), RUN_ASSERTION)
        self.follow("#run-submit", "starting a run without a model")
        error = self.present("#run-models ~ .field-error").text
        check("models" in error or "required" in error, f"the models error reads {error!r}")
        check(self.present(f"#run-prompts input[value='{self.new_prompt}@1']").is_selected(), "the ticked prompt version was lost")
        check(RUN_ASSERTION in self.present("#run-assert").get_attribute("value"), "the assertions were lost")
        self.shot("38-run-form-error")
        self.start_run("browser v1", 1, "39-run-form")
        cells = self.css("#experiment-matrix td.cell")
        check(cells, "the run's matrix has no cells")
        check(all(self.css(".badge.ok", cell) for cell in cells), "v1 answers start with Q:, yet a cell did not pass")
        self.assert_no_xss("the run's matrix")
        self.shot("40-run-v1-matrix")
        # The second run is the first one's form with the other version.
        self.follow("#rerun", "opening a run form like the first run")
        check(self.present(f"#run-prompts input[value='{self.new_prompt}@1']").is_selected(), "the rerun form does not tick v1")
        self.start_run("browser v2", 2, "41-run-form-v2")
        cells = self.css("#experiment-matrix td.cell")
        check(cells and all(self.css(".badge.error", cell) for cell in cells), "v2 answers start with R:, yet a cell passed")
        check(self.css("#experiment-matrix td.item-input"), "the matrix rows do not show the items' inputs")
        reasons = self.css("#experiment-matrix .cell-reason")
        check(reasons and all(reason.text.strip() for reason in reasons), "failed cells do not show their reasons")
        self.shot("42-run-v2-matrix")

    def step_experiment_trace(self):
        self.driver.get(self.url(f"/ui/{self.project}/experiments/{self.runs[0]}"))
        self.present("#experiment-matrix")
        links = self.css("#experiment-matrix a.cell-link")
        check(links, "no cell of the matrix links to its trace")
        output = self.css(".cell-output", links[0].find_element(By.XPATH, "./ancestor::td"))[0].text
        self.mark_page()
        links[0].click()
        self.wait_new_page("opening a cell's trace")
        self.present("#trace-detail")
        check(output.strip() and output.strip()[:20] in self.page_text(), f"the trace does not show the cell's output {output!r}")
        self.assert_no_xss("an experiment cell's trace")
        self.shot("43-run-cell-trace")

    def step_experiment_compare(self):
        self.driver.get(self.url(f"/ui/{self.project}/experiments/{self.runs[1]}"))
        self.follow("#compare-previous", "opening the comparison with the previous run")
        self.present("#significance")
        check(self.query().get("base") == [self.runs[0]] and self.query().get("head") == [self.runs[1]],
              f"the comparison URL {self.driver.current_url} does not name both runs")
        regressions = self.present("#regression-count").text.strip()
        rows = self.css("#regressions tbody tr")
        check(regressions.isdigit() and int(regressions) == len(rows) and rows,
              f"the comparison counts {regressions!r} regressions and lists {len(rows)}")
        check("McNemar" in self.page_text(), "the comparison does not name its test")
        self.assert_no_xss("the comparison")
        self.shot("44-run-compare")
        # The list's compare form reaches the same page.
        self.driver.get(self.url(f"/ui/{self.project}/experiments"))
        form = self.present("#compare-form")
        Select(self.css("select[name=base]", form)[0]).select_by_value(self.runs[0])
        Select(self.css("select[name=head]", form)[0]).select_by_value(self.runs[1])
        self.mark_page()
        self.css("button", form)[0].click()
        self.wait_new_page("comparing from the runs list")
        check(self.present("#regression-count").text.strip() == regressions, "the runs list's compare form shows another result")
        self.shot("45-run-compare-from-list")

    def step_monitoring_watchers(self):
        self.follow("#nav-monitoring", "the monitoring section")
        self.present("#watchers-table")
        check("refund-check" in self.page_text(), "the watcher is not listed")
        self.assert_no_xss("watchers list")
        self.follow(".watcher-link", "a watcher's page")
        self.present("#watcher-queue")
        check("window.__xss=8" in self.present("#watcher-assertions").text, "the assertion is not shown as text")
        self.assert_no_xss("watcher page")
        self.shot("50-watcher")

    def step_monitoring_alert(self):
        self.driver.get(self.url(f"/ui/{self.project}/monitoring/alerts"))
        self.present("#alerts-table")
        check("firing" in self.present("#alerts-table").text, "the alert is not shown firing")
        self.follow(".alert-link", "an alert's page")
        check(self.present("#alert-state").text.strip() == "firing", "the alert page does not say firing")
        check(len(self.css("#alert-events tbody tr")) >= 1, "the alert's history is empty")
        check("<b>x</b>" in self.page_text(), "the destination is not shown as text")
        self.assert_no_xss("alert page")
        Select(self.present("select[name=hours]")).select_by_value("8")
        self.follow("#silence-submit", "silencing the alert")
        check("Silenced until" in self.present("#alert-silence").text, "the alert is not shown silenced")
        self.shot("51-alert-silenced")

    def step_monitoring_gaps(self):
        self.driver.get(self.url(f"/ui/{self.project}/monitoring/probes"))
        self.present("#probes-table")
        self.driver.get(self.url(f"/ui/{self.project}/monitoring/gaps"))
        form = self.present("#gaps-form")
        Select(self.css("select[name=metric]", form)[0]).select_by_value("latency")
        Select(self.css("select[name=by]", form)[0]).select_by_value("model")
        min_count = self.css("input[name=min_count]", form)[0]
        self.set_field(min_count, "5")
        self.follow("#gaps-submit", "the gaps by model")
        query = self.query()
        check(query.get("by") == ["model"] and query.get("min_count") == ["5"], f"the form did not submit its fields: {query}")
        rows = self.css("#gaps-table tbody tr")
        check(len(rows) == 2, f"expected the two models, got {len(rows)} rows")
        check(len(self.css(".panel svg.tern-chart")) >= 1, "no chart of the means")
        self.shot("52-gaps")

    def step_monitoring_drift(self):
        self.driver.get(self.url(f"/ui/{self.project}/monitoring/drift"))
        form = self.present("#drift-form")
        Select(self.css("select[name=range]", form)[0]).select_by_value("1h")
        self.follow("#drift-submit", "drift of the last hour")
        self.present("#drift-summary")
        self.present("#drift-monitors")
        columns = self.css(".drift-column")
        check(len(columns) >= 5, f"expected a panel per column, got {len(columns)}")
        check(len(self.css(".drift-column svg.tern-chart-distribution")) == len(columns), "a column has no distribution chart")
        self.assert_no_xss("drift page")
        self.shot("53-drift")

    def step_monitoring_topics(self):
        self.follow("a[href$='/monitoring/topics']", "the topics tab")
        form = self.present("#topics-form")
        Select(self.css("select[name=range]", form)[0]).select_by_value("7d")
        Select(self.css("select[name=field]", form)[0]).select_by_value("input")
        self.follow("#topics-submit", "topics of the last 7 days")
        query = self.query()
        check(query.get("range") == ["7d"] and query.get("field") == ["input"], f"the form did not submit its fields: {query}")
        rows = self.css("#topics-table tbody tr")
        check(len(rows) >= 2, f"expected several topics, got {len(rows)} rows")
        check(len(self.css("#topics-table .badge")) >= 1, "no topic is marked new")
        check(len(self.css(".panel svg.tern-chart")) >= 1, "no chart of the topics over time")
        self.assert_no_xss("topics page")
        self.shot("54-topics")

    # ---- driver ----------------------------------------------------------------------------------

    def run(self):
        steps = [self.step_login]
        if "explore" in self.groups:
            steps += [self.step_dashboard, self.step_traces, self.step_trace_detail,
                      self.step_score, self.step_xss, self.step_keyboard, self.step_sessions_users, self.step_settings]
            if self.dataset:
                steps += [self.step_add_to_dataset]
        if "library" in self.groups:
            if self.prompt:
                steps += [self.step_prompts, self.step_prompt_diff, self.step_label_move, self.step_playground]
            if self.dataset:
                steps += [self.step_dataset]
        if "monitoring" in self.groups:
            steps += [self.step_monitoring_watchers, self.step_monitoring_alert, self.step_monitoring_gaps, self.step_monitoring_drift,
                      self.step_monitoring_topics]
        if "authoring" in self.groups and self.new_prompt:
            steps += [self.step_prompt_create, self.step_prompt_new_version]
            if self.dataset and self.experiment_models:
                steps += [self.step_experiment_runs, self.step_experiment_trace, self.step_experiment_compare]
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
