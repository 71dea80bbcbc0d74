"""The dashboard in a real browser: Debian's headless Chromium driven by Selenium
(python3-selenium, chromium-driver), one browser for the module. Log in with the form, see a
message sent a moment ago appear in the chart and the lists without a reload, hold it from the
page and see `sterna queue` report it held; and the page loads nothing from anywhere but the
daemon. On a failure each test saves a screenshot under its tmp dir and prints the path."""
import contextlib
import shutil
import tempfile
import time

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from conftest import free_port
from test_dashboard import dash  # noqa: F401 (fixtures)
from test_http_api import api_factory, keys_dir, queue_json  # noqa: F401 (fixtures)
from test_outbound import send, wait_log

CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser():
    profile = tempfile.mkdtemp(prefix="sterna-chromium-")
    o = webdriver.ChromeOptions()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--no-first-run", "--disable-extensions", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--window-size=1280,1000",
              "--user-data-dir=" + profile):
        o.add_argument(a)
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=o)
    d.set_page_load_timeout(30)
    yield d
    d.quit()
    shutil.rmtree(profile, ignore_errors=True)


@contextlib.contextmanager
def shot_on_failure(driver, tmp_path, name):
    try:
        yield
    except BaseException:
        path = tmp_path / (name + "-failure.png")
        try:
            driver.save_screenshot(str(path))
            print("screenshot of the failure: %s" % path)
        except WebDriverException as e:
            print("no screenshot (%s)" % e)
        raise


def log_in(d, api):
    d.delete_all_cookies()
    d.get(api.url + "/dashboard")
    WebDriverWait(d, 10).until(EC.url_contains("/dashboard/login"))
    d.find_element(By.ID, "key").send_keys(api.keys["admin"])
    d.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    WebDriverWait(d, 10).until(lambda d: d.find_element(By.ID, "live").text == "live")


def severe(d):
    return [e for e in d.get_log("browser") if e["level"] == "SEVERE"]


def test_live_page_and_hold_from_it(browser, dash, tmp_path):  # noqa: F811
    d = browser
    api = dash()
    with shot_on_failure(d, tmp_path, "live"):
        # a wrong key first: the form says so, and there is no session
        d.delete_all_cookies()
        d.get(api.url + "/dashboard/login")
        d.find_element(By.ID, "key").send_keys("sterna_wrong")
        d.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        # the form's answer is a new page: wait for it rather than look at once
        error = WebDriverWait(d, 10).until(
            EC.visibility_of_element_located((By.CSS_SELECTOR, ".error")))
        assert "not an API key" in error.text
        assert d.get_cookies() == []
        d.get_log("browser")    # the wrong key's 401 is in it: from here on, no error
        log_in(d, api)
        assert d.current_url == api.url + "/dashboard"
        cookie = d.get_cookie("sterna_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        # the page is loaded once; what follows arrives by its own polling
        d.execute_script("window.__loaded = true")
        chart = d.find_element(By.ID, "chart")
        assert chart.get_attribute("data-total-in") == "0"
        qid = send(api.s, ["bob@dead.test"], b"Subject: seen live\r\n\r\nbody\r\n")
        wait_log(api.s, qid + r"\.1 deferred ")
        wait = WebDriverWait(d, 15)
        wait.until(lambda d: d.find_element(By.ID, "chart").get_attribute("data-total-in") == "1")
        assert "1 in" in d.find_element(By.ID, "chart-now").text or \
            d.find_element(By.ID, "chart").get_attribute("data-last-in") == "0"
        row_css = '#queue tbody tr[data-open="%s"]' % qid
        wait.until(lambda d: "deferred" in d.find_element(By.CSS_SELECTOR, row_css).text)
        assert "bob@dead.test" in d.find_element(By.CSS_SELECTOR, row_css).text
        wait.until(lambda d: qid in d.find_element(By.ID, "recent").text)
        wait.until(lambda d: qid in d.find_element(By.ID, "deferred").text)
        wait.until(lambda d: "dead.test" in d.find_element(By.ID, "dests").text)
        assert d.execute_script("return window.__loaded") is True     # no reload happened
        # open it, hold it
        d.find_element(By.CSS_SELECTOR, row_css).click()
        dlg = wait.until(EC.visibility_of_element_located((By.ID, "msg")))
        wait.until(lambda d: d.find_element(By.ID, "msg-state").text == "deferred")
        assert "bob@dead.test" in d.find_element(By.ID, "msg-rcpts").text
        wait.until(lambda d: "received" in d.find_element(By.ID, "msg-history").text)
        dlg.find_element(By.CSS_SELECTOR, 'button[data-op="hold"]').click()
        wait.until(lambda d: "Done: hold" in d.find_element(By.ID, "msg-note").text)
        wait.until(lambda d: d.find_element(By.ID, "msg-state").text == "held")
        # the command line agrees
        listed = queue_json(api.s, "list")
        assert [(m["id"], m["state"]) for m in listed] == [(qid, "held")]
        # release it again from the page
        dlg.find_element(By.CSS_SELECTOR, 'button[data-op="release"]').click()
        wait.until(lambda d: "Done: release" in d.find_element(By.ID, "msg-note").text)
        assert queue_json(api.s, "list")[0]["state"] != "held"
        dlg.find_element(By.ID, "msg-close").click()
        assert severe(d) == []


def test_page_loads_nothing_from_outside(browser, dash, tmp_path):  # noqa: F811
    d = browser
    api = dash()
    with shot_on_failure(d, tmp_path, "resources"):
        log_in(d, api)
        time.sleep(2.5)     # a round of polling
        origin = api.url
        entries = d.execute_script(
            "return performance.getEntriesByType('navigation').concat("
            "performance.getEntriesByType('resource')).map(e => e.name)")
        assert any(e.endswith("/dashboard/assets/app.js") for e in entries), entries
        assert any("/v1/dashboard" in e for e in entries), entries
        outside = [e for e in entries if not e.startswith(origin + "/")]
        assert outside == [], outside
        # the policy the page runs under: what a script tries to load from another origin
        # (here another port of loopback: nothing leaves the machine) is stopped and reported
        other = "http://127.0.0.1:%d" % free_port()
        d.execute_script("""
            window.__csp = [];
            document.addEventListener('securitypolicyviolation',
                e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
            const s = document.createElement('script'); s.src = arguments[0] + '/x.js';
            document.head.append(s);
            const i = document.createElement('img'); i.src = arguments[0] + '/x.png';
            document.body.append(i);""", other)
        WebDriverWait(d, 5).until(lambda d: len(d.execute_script("return window.__csp")) == 2)
        blocked = sorted(d.execute_script("return window.__csp"))
        assert blocked == ["img-src %s/x.png" % other, "script-src-elem %s/x.js" % other], blocked
