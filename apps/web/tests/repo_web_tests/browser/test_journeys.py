"""Real-browser journeys (headless Chromium through Playwright) against a real uvicorn server."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, expect
from sqlalchemy import URL, select, update

from repo_db import build_engine, unit_of_work
from repo_db.models import Assessment, FeedbackSource, Question, QuestionKind, Response
from repo_domain import grading
from repo_web_tests.browser.accessibility import audit
from repo_web_tests.browser.conftest import screenshot_dir

DEMO_PASSWORD = "demo-password"


def shot(page: Page, name: str) -> None:
    """A checkpoint: the screenshot, and an axe-core audit of the page (fails on any violation)."""
    page.screenshot(path=str(screenshot_dir() / f"{name}.png"), full_page=True)
    audit(page, name)


def log_in(page: Page, email: str, password: str = DEMO_PASSWORD) -> None:
    page.goto("/login")
    audit(page, "log-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))


def _fill_sign_up(page: Page, name: str, email: str) -> None:
    page.goto("/signup")
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("browser-pass-1")
    page.get_by_role("button", name="Sign up").click()


def sign_up(page: Page, name: str) -> str:
    """A new address: the account is created and signed in, straight to the dashboard."""
    email = f"{name.lower().replace(' ', '.')}.{uuid.uuid4().hex[:6]}@example.test"
    _fill_sign_up(page, name, email)
    expect(page).to_have_url(re.compile(r"/dashboard\?notice=welcome$"))
    expect(page.get_by_role("heading", name=f"Hello, {name}")).to_be_visible()
    expect(page.locator("[data-welcome]")).to_contain_text("you are logged in")
    return email


def test_learner_signs_up_takes_the_seeded_assessment_and_sees_the_result(
    browser: Browser, browser_context_args: dict[str, Any]
) -> None:
    # JavaScript off: the core flow is plain forms and redirects.
    context = browser.new_context(**browser_context_args, java_script_enabled=False)
    page = context.new_page()
    page.goto("/signup")
    page.get_by_role("button", name="Sign up").click()  # empty form: errors next to the fields
    expect(page.locator("#field-email-error")).to_contain_text("required")
    shot(page, "01-signup-errors")
    email = sign_up(page, "Lena Browser")
    shot(page, "02-learner-dashboard")
    # The same address again (from a browser with no session): no session, the hedged notice.
    stranger = browser.new_context(**browser_context_args, java_script_enabled=False).new_page()
    _fill_sign_up(stranger, "Someone Else", email)
    expect(stranger).to_have_url(re.compile(r"/login\?registered=1$"))
    expect(stranger.locator("[data-registered]")).to_contain_text("the account now exists")
    shot(stranger, "02b-signup-taken-address")
    stranger.goto("/dashboard")
    expect(stranger).to_have_url(re.compile(r"/login\?next="))
    stranger.context.close()

    page.get_by_role("link", name="Open Python Basics").click()
    audit(page, "assessment-details")
    page.get_by_role("button", name="Start", exact=True).click()
    expect(page.get_by_text("Question 1 of 4")).to_be_visible()
    expect(page.locator("[data-countdown]")).to_have_attribute("data-deadline", re.compile(r"Z$"))
    page.get_by_label("def").check()
    shot(page, "03-question")
    page.get_by_role("button", name="Save and next").click()
    page.get_by_label("tuple").check()
    page.get_by_label("str").check()
    page.get_by_role("button", name="Save and next").click()
    page.get_by_label("Your answer (a number)").fill("42")
    audit(page, "question-numeric")
    page.get_by_role("button", name="Save and next").click()
    page.get_by_label("Your answer").fill("It yields values lazily.")
    audit(page, "question-free-text")
    page.get_by_role("button", name="Review and submit").click()
    expect(page.get_by_text("4 of 4")).to_be_visible()
    shot(page, "04-confirm-submit")
    page.get_by_role("button", name="Yes, submit my answers").click()

    expect(page.get_by_role("heading", name=re.compile("Your result"))).to_be_visible()
    expect(page.locator("[data-result]")).to_have_attribute("data-result", "pending")
    # Unlimited retakes: show_answers keeps correctness hidden (issue 16).
    expect(page.locator(".badge.answered")).to_have_count(3)
    expect(page.locator(".badge.correct")).to_have_count(0)
    expect(page.locator(".feedback .badge.pending")).to_have_count(1)
    shot(page, "05-result-pending")
    context.close()


def test_author_publishes_an_assessment_that_a_learner_finds_and_takes(
    browser: Browser, browser_context_args: dict[str, Any]
) -> None:
    title = f"Browser quiz {uuid.uuid4().hex[:6]}"
    author = browser.new_context(**browser_context_args).new_page()
    log_in(author, "author@example.com")
    author.get_by_role("link", name="My assessments").click()
    audit(author, "manage-list")
    author.get_by_role("link", name="New assessment").click()
    audit(author, "manage-new")
    author.get_by_label("Title").fill(title)
    author.get_by_label("Time limit in minutes").fill("10")
    author.get_by_role("button", name="Create draft").click()
    audit(author, "manage-draft")
    author.get_by_label("Add a question of kind").select_option("single_choice")
    author.get_by_role("button", name="Add question").click()
    author.get_by_label("Question").fill("Which planet is the largest?")
    author.get_by_label("Option 1", exact=True).fill("Mars")
    author.get_by_label("Option 2", exact=True).fill("Jupiter")
    # Each "Correct" box names its option (six boxes called "Correct" told a screen reader nothing).
    author.get_by_label("Correct: option 2").check()
    shot(author, "06-author-question-editor")
    author.get_by_role("button", name="Save question").click()
    expect(author.get_by_text("Question saved.")).to_be_visible()
    author.get_by_role("link", name="Preview as a learner").click()
    expect(author.get_by_text("Nothing you enter here is saved")).to_be_visible()
    audit(author, "manage-preview")
    author.go_back()
    author.get_by_role("button", name="Publish").click()
    expect(author.get_by_text("Published: learners can now find and take it.")).to_be_visible()
    shot(author, "07-author-published")
    author.context.close()

    learner = browser.new_context(**browser_context_args).new_page()
    sign_up(learner, "Finder Learner")
    learner.get_by_role("link", name=f"Open {title}").click()
    learner.get_by_role("button", name="Start", exact=True).click()
    learner.get_by_label("Jupiter").check()
    learner.get_by_role("button", name="Review and submit").click()
    learner.get_by_role("button", name="Yes, submit my answers").click()
    # Retakes are unlimited (the default policy), so the mark stays hidden (issue 16).
    expect(learner.locator("[data-result]")).to_have_attribute("data-result", "hidden")
    shot(learner, "08-learner-submitted")
    learner.context.close()


def test_admin_finds_one_user_among_many_and_opens_a_statistics_chart(
    browser: Browser, browser_context_args: dict[str, Any]
) -> None:
    page = browser.new_context(**browser_context_args).new_page()
    log_in(page, "admin@example.com")
    page.get_by_role("link", name="Admin").click()
    audit(page, "admin")
    page.get_by_label("Find users by email or name (starts with)").fill("user4242@")
    page.get_by_role("button", name="Search users").click()
    rows = page.locator("tr[data-user-id]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("user4242@seed.example.com")
    shot(page, "09-admin-user-search")

    # The user's page; a role change is confirmed before it happens, then logged.
    rows.first.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Seed User 4242")
    page.get_by_label("Role").select_option("author")
    page.get_by_role("button", name="Change role…").click()
    expect(page.locator("[data-change-role]")).to_have_text("Role: Learner → Author")
    shot(page, "09b-admin-confirm-role")
    page.get_by_role("button", name="Yes, make the change").click()
    expect(page.get_by_role("status")).to_contain_text("Account changed.")
    expect(page.locator("[data-role]")).to_have_text("Author")
    expect(page.locator('tr[data-action="user.updated"]')).to_contain_text("admin@example.com")
    shot(page, "09c-admin-user-page")
    page.get_by_role("link", name="Admin").click()
    page.get_by_role("link", name="Audit log").click()
    expect(page.locator('tr[data-action="user.updated"]').first).to_be_visible()
    audit(page, "admin-audit-log")

    page.get_by_role("link", name="Admin").click()
    page.get_by_role("link", name="Statistics for Seed assessment 0").click()
    chart = page.locator("svg.chart").first
    expect(chart).to_be_visible()
    box = chart.bounding_box()
    assert box is not None and box["width"] > 200 and box["height"] > 80
    expect(
        page.locator('svg.chart-histogram rect.chart-mark:not([data-value="0"])').first
    ).to_be_visible()
    shot(page, "10-admin-statistics")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "11-statistics-phone")


def test_author_grades_a_flagged_answer_and_the_learner_sees_the_feedback(
    browser: Browser, browser_context_args: dict[str, Any], server_database: str
) -> None:
    # One attempt on the demo assessment: after it, show_answers shows the feedback.
    engine = build_engine(URL.create("sqlite", database=server_database))
    try:
        with unit_of_work(bind=engine) as session:
            session.execute(
                update(Assessment).where(Assessment.title == "Python Basics").values(max_attempts=1)
            )
    finally:
        engine.dispose()
    # JavaScript off: the review form is a plain post.
    learner = browser.new_context(**browser_context_args, java_script_enabled=False)
    page = learner.new_page()
    sign_up(page, "Rita Review")
    page.get_by_role("link", name="Open Python Basics").click()
    page.get_by_role("button", name="Start", exact=True).click()
    page.get_by_label("def").check()
    page.get_by_role("button", name="Save and next").click()
    page.get_by_role("button", name="Save and next").click()
    page.get_by_role("button", name="Save and next").click()
    page.get_by_label("Your answer").fill("Generators produce values one at a time.")
    page.get_by_role("button", name="Review and submit").click()
    page.get_by_role("button", name="Yes, submit my answers").click()
    expect(page.locator("[data-grader-feedback]")).to_have_attribute(
        "data-grader-feedback", "pending"
    )
    match = re.search(r"/attempts/(\d+)/result", page.url)
    assert match is not None
    attempt_id = int(match.group(1))

    # What apps/ai's worker writes for an answer it is unsure about.
    engine = build_engine(URL.create("sqlite", database=server_database))
    try:
        with unit_of_work(bind=engine) as session:
            response, question = session.execute(
                select(Response, Question)
                .join(Question, Question.id == Response.question_id)
                .where(Response.attempt_id == attempt_id, Question.kind == QuestionKind.FREE_TEXT)
            ).one()
            grading.record_grade(
                session,
                response=response,
                question=question,
                fraction=0.25,
                comment="Say what makes them lazy.",
                source=FeedbackSource.AI,
                model_version="browser-test",
                confidence=0.2,
                needs_review=True,
            )
            grading.refresh_result(session, attempt_id=attempt_id)
    finally:
        engine.dispose()

    # Graded, but a teacher may still change the AI's grade: the result says it is provisional.
    page.reload()
    expect(page.locator("[data-under-review]")).to_have_attribute("data-under-review", "1")
    expect(page.locator(".result-summary .badge")).to_contain_text("(provisional)")
    audit(page, "result-provisional")
    result_url = page.url
    page.goto("/dashboard")  # the recent results say so too
    expect(page.locator("[data-provisional]")).to_contain_text("(provisional)")
    audit(page, "dashboard-provisional")
    page.goto(result_url)

    author = browser.new_context(**browser_context_args, java_script_enabled=False)
    author_page = author.new_page()
    log_in(author_page, "author@example.com")
    author_page.get_by_role("link", name="Review queue").click()
    item = author_page.locator(".review-item", has_text="Generators produce values one at a time.")
    expect(item.locator("[data-confidence]")).to_have_text("20%")
    expect(item).to_contain_text("Say what makes them lazy.")
    shot(author_page, "06-review-queue")
    item.get_by_label(re.compile("Your score")).fill("2")
    item.get_by_label(re.compile("Feedback for the learner")).fill("Right: one at a time.")
    item.get_by_role("button", name=re.compile("Save grade")).click()
    expect(author_page.get_by_role("status")).to_contain_text("Grade saved")
    audit(author_page, "review-queue-graded")
    expect(
        author_page.locator(".review-item", has_text="Generators produce values one at a time.")
    ).to_have_count(0)
    author.close()

    page.reload()
    expect(page.locator("[data-grader-feedback]")).to_have_attribute(
        "data-grader-feedback", "human"
    )
    expect(page.locator("[data-grader-feedback]")).to_contain_text("Right: one at a time.")
    expect(page.locator("[data-under-review]")).to_have_count(0)
    expect(page.locator(".result-summary .badge")).not_to_contain_text("provisional")
    shot(page, "07-result-with-feedback")
    learner.close()


def _accessible_tables_and_charts(page: Page) -> None:
    """Beyond the axe-core audit each `shot` runs, asserted directly:
    every chart is an image named by its title and description, every table has column headers and
    row headers, every scrollable table region is focusable and labelled."""
    charts = page.locator("svg.chart")
    for i in range(charts.count()):
        chart = charts.nth(i)
        expect(chart).to_have_attribute("role", "img")
        # Named by its <title> and <desc> together (aria-labelledby): "Score distribution
        # Number of results per ...", so a name of more than the title's few words.
        expect(chart).to_have_accessible_name(re.compile(r"\w+ .*\w+ .*\w+ .*\w+"))
    tables = page.locator("table")
    for i in range(tables.count()):
        table = tables.nth(i)
        assert table.locator("thead th[scope=col]").count() >= 2
        assert table.locator("tbody tr").count() == table.locator("tbody th[scope=row]").count()
    regions = page.locator("div.table-scroll")
    for i in range(regions.count()):
        expect(regions.nth(i)).to_have_attribute("tabindex", "0")
        expect(regions.nth(i)).to_have_accessible_name(re.compile(r"\w"))


def _axis_ticks(page: Page, chart_class: str) -> list[str]:
    return page.locator(f"svg.{chart_class} text.chart-axis[text-anchor=end]").all_text_contents()


def test_author_reads_the_item_analysis_and_downloads_the_results(
    browser: Browser, browser_context_args: dict[str, Any]
) -> None:
    context = browser.new_context(**browser_context_args, accept_downloads=True)
    page = context.new_page()
    log_in(page, "admin@example.com")
    page.get_by_role("link", name="Admin").click()
    page.get_by_role("link", name="Statistics for Seed assessment 0").click()
    # Count axes count in whole numbers (the issue saw 0.5, 1.5 and 1.2, 2.5, 3.8).
    for chart_class in ("chart-histogram", "chart-timeline"):
        ticks = _axis_ticks(page, chart_class)
        assert ticks and all(t.isdigit() for t in ticks), (chart_class, ticks)
    expect(page.get_by_role("heading", name="Per-question % correct")).to_be_visible()
    _accessible_tables_and_charts(page)

    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile("Download results")).click()
    download = download_info.value
    assert download.suggested_filename.endswith("-results.csv")
    text = Path(download.path()).read_bytes().decode("utf-8-sig")
    rows = text.splitlines()
    assert rows[0].startswith("attempt_id,learner,email,status,started_at_utc")
    assert len(rows) > 100  # the seeded assessment's attempts, one row each

    page.get_by_role("link", name=re.compile("^Item analysis")).click()
    expect(page.get_by_role("heading", name=re.compile("^Item analysis"))).to_be_visible()
    expect(page.locator("svg.chart")).to_have_count(2)
    expect(page.get_by_role("columnheader", name="Point-biserial")).to_be_visible()
    expect(page.locator("table.distractors").first).to_be_visible()
    _accessible_tables_and_charts(page)
    shot(page, "12-item-analysis")

    # At phone width the chart text stays readable: at least 10 px tall on screen (it was a
    # few pixels: 13-unit text in a 640-unit picture scaled to about 300 px).
    page.set_viewport_size({"width": 390, "height": 844})
    sizes = page.locator("svg.chart text.chart-axis").evaluate_all(
        "els => els.map(e => e.getBoundingClientRect().height)"
    )
    assert sizes and min(sizes) >= 10, sizes
    shot(page, "13-item-analysis-phone")
    page.go_back()  # the statistics page, at phone width
    sizes = page.locator("svg.chart text.chart-value").evaluate_all(
        "els => els.map(e => e.getBoundingClientRect().height)"
    )
    assert sizes and min(sizes) >= 10, sizes
    # The top value label sits inside its picture (it was cut at the top edge).
    inside = page.locator("svg.chart").evaluate_all(
        """svgs => svgs.every(svg => [...svg.querySelectorAll('text.chart-value')].every(t => {
            const a = t.getBoundingClientRect(), b = svg.getBoundingClientRect();
            return a.top >= b.top - 0.5 && a.bottom <= b.bottom + 0.5; }))"""
    )
    assert inside
    shot(page, "14-statistics-phone")
    context.close()
