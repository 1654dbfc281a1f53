# Headless Chromium and Selenium for the real-browser UI test. Source this file, then:
#   browser_ensure_installed VENV  # apt-get installs chromium and chromium-driver when missing, pip
#                                  # installs selenium into the existing virtualenv VENV when missing;
#                                  # exports TERN_TEST_CHROMIUM, TERN_TEST_CHROMEDRIVER and
#                                  # TERN_TEST_REQUIRE_BROWSER=1
# Everything is skipped when already there, so a second run is quiet and costs no network.

browser_as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

browser_pkg_installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

browser_chromium_path() {
    local found
    for found in chromium chromium-browser; do
        found=$(command -v "$found" 2>/dev/null || true)
        if [ -n "$found" ]; then echo "$found"; return; fi
    done
}

browser_chromedriver_path() {
    if [ -x /usr/bin/chromedriver ]; then echo /usr/bin/chromedriver; return; fi
    command -v chromedriver 2>/dev/null || true
}

browser_ensure_installed() {
    local venv="${1:?usage: browser_ensure_installed VENV}"
    local missing=() pkg
    for pkg in chromium chromium-driver; do
        browser_pkg_installed "$pkg" || missing+=("$pkg")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "== installing ${missing[*]} (apt-get)"
        local log
        log=$(mktemp /tmp/tern-apt.XXXXXX)
        if ! { browser_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
            && browser_as_root env DEBIAN_FRONTEND=noninteractive \
                apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
            cat "$log" >&2; rm -f "$log"; return 1
        fi
        rm -f "$log"
    fi
    TERN_TEST_CHROMIUM=$(browser_chromium_path)
    TERN_TEST_CHROMEDRIVER=$(browser_chromedriver_path)
    if [ -z "$TERN_TEST_CHROMIUM" ] || [ -z "$TERN_TEST_CHROMEDRIVER" ]; then
        echo "chromium or chromedriver not found after install" >&2
        return 1
    fi

    if ! "$venv/bin/python" -c "import selenium" >/dev/null 2>&1; then
        echo "== installing the selenium Python package (pip, into $venv)"
        "$venv/bin/python" -m pip install -q --disable-pip-version-check "selenium>=4,<5"
    fi

    export TERN_TEST_CHROMIUM TERN_TEST_CHROMEDRIVER
    export TERN_TEST_REQUIRE_BROWSER=1
}
