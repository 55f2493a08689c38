"""Signs in and screenshots pages with the system Chromium (Playwright driver only).

usage: python3 scripts/screenshots.py BASE_URL USERNAME PASSWORD OUT_DIR PATH...
       python3 scripts/screenshots.py --docs BASE_URL USERNAME PASSWORD
Each PATH is taken at phone (360x800, whole page) and desktop (1440x900) sizes. --docs
refreshes the README's screenshots in docs/ from `bash scripts/demo.sh` data: the incident
page, the board, the published postmortem and insights, phone (first screen) and desktop.
"""
import sys
from playwright.sync_api import sync_playwright

DOCS = [
    ("incident-page", "/incidents/INC-1"),
    ("action-items", "/tasks?group=owner"),
    ("postmortem", "/incidents/INC-1/postmortem"),
    ("insights", "/insights"),
]

docs = sys.argv[1] == "--docs"
args = sys.argv[2:] if docs else sys.argv[1:]
base, user, password = args[:3]
out = "docs" if docs else args[3]
shots = [(name, path) for name, path in DOCS] if docs else [
    (path.strip("/").replace("/", "_").replace("?", "_") or "dashboard", path) for path in args[4:]
]
with sync_playwright() as p:
    browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
        "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"])
    for size_name, size in [("phone", {"width": 360, "height": 800}), ("desktop", {"width": 1440, "height": 900})]:
        page = browser.new_page(viewport=size)
        page.goto(base + "/login")
        page.fill("input[name=username]", user)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        for name, path in shots:
            page.goto(base + path)
            if docs:
                suffix = "-phone" if size_name == "phone" else ""
                page.screenshot(path=f"{out}/{name}{suffix}.png")
            else:
                page.screenshot(path=f"{out}/{size_name}-{name}.png", full_page=(size_name == "phone"))
    browser.close()
