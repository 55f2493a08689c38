"""Signs in and screenshots pages with the system Chromium (Playwright driver only).

usage: python3 scripts/screenshots.py BASE_URL USERNAME PASSWORD OUT_DIR PATH...
Each PATH is taken at phone (360x800) and desktop (1440x900) sizes.
"""
import sys
from playwright.sync_api import sync_playwright

base, user, password, out = sys.argv[1:5]
paths = sys.argv[5:]
with sync_playwright() as p:
    browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
        "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"])
    for name, size in [("phone", {"width": 360, "height": 800}), ("desktop", {"width": 1440, "height": 900})]:
        page = browser.new_page(viewport=size)
        page.goto(base + "/login")
        page.fill("input[name=username]", user)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        for path in paths:
            page.goto(base + path)
            slug = path.strip("/").replace("/", "_").replace("?", "_") or "dashboard"
            page.screenshot(path=f"{out}/{name}-{slug}.png", full_page=(name == "phone"))
    browser.close()
