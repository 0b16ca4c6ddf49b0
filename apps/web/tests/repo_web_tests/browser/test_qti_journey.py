"""Real-browser journey (headless Chromium): an author imports a QTI package, reads the report
per item, opens the draft and downloads its QTI 3.0 export; a refused file shows why."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, expect

from repo_domain_tests.qti_files import BILLION_LAUGHS, sample_package
from repo_web_tests.browser.test_journeys import log_in, shot


def test_author_imports_a_qti_package_and_exports_the_draft(
    browser: Browser, browser_context_args: dict[str, Any], tmp_path: Path
) -> None:
    package = tmp_path / "sample-package.zip"
    package.write_bytes(sample_package())
    bomb = tmp_path / "bomb.xml"
    bomb.write_bytes(BILLION_LAUGHS)

    page = browser.new_context(**browser_context_args).new_page()
    log_in(page, "author@example.com")
    page.get_by_role("link", name="My assessments").click()
    page.get_by_role("link", name="Import from QTI").click()
    expect(page.get_by_role("heading", name="Import from QTI")).to_be_visible()
    shot(page, "qti-00-import-form")

    # A billion-laughs file: refused with the reason, the form is still there.
    page.get_by_label("QTI file or package").set_input_files(str(bomb))
    page.get_by_role("button", name="Import as a draft").click()
    expect(page.get_by_role("alert")).to_contain_text("declares or uses XML entities")
    shot(page, "qti-01-refused-file")

    page.get_by_label("QTI file or package").set_input_files(str(package))
    page.get_by_role("button", name="Import as a draft").click()
    expect(page.get_by_role("status")).to_contain_text("2 of 3 items imported")
    report = page.locator("table.import-report")
    expect(report.locator("tr.imported")).to_have_count(2)
    expect(report.locator("tr.skipped")).to_contain_text(
        "unsupported interaction hotspotInteraction in item hotspot"
    )
    shot(page, "qti-02-import-report")

    page.get_by_role("link", name="Open the draft").click()
    expect(page.get_by_role("heading", name=re.compile("Sample QTI 2.1 test"))).to_be_visible()
    expect(page.get_by_text("You must stay with your luggage at all times.")).to_be_visible()
    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile("Export as QTI 3.0")).click()
    download = download_info.value
    assert re.fullmatch(r"sample-qti-2-1-test-\d+-qti\.zip", download.suggested_filename)
    with zipfile.ZipFile(io.BytesIO(Path(download.path()).read_bytes())) as archive:
        assert len([n for n in archive.namelist() if n.startswith("items/")]) == 2
    shot(page, "qti-03-draft-with-export-link")
    page.context.close()
