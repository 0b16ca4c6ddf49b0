"""Real-browser journey (headless Chromium): an author publishes a question with a wrong answer
key, a learner is marked wrong for the right answer, the author corrects the question, reads the
preview of old and new score per attempt and the version history, confirms the regrade, and the
learner's result page shows the corrected result, marked as regraded."""

from __future__ import annotations

import re
import uuid
from typing import Any

from playwright.sync_api import Browser, expect

from repo_web_tests.browser.test_journeys import log_in, shot


def test_author_corrects_a_published_question_and_the_learner_sees_the_regrade(
    browser: Browser, browser_context_args: dict[str, Any]
) -> None:
    title = f"Regrade quiz {uuid.uuid4().hex[:6]}"
    author = browser.new_context(**browser_context_args).new_page()
    log_in(author, "author@example.com")
    author.get_by_role("link", name="My assessments").click()
    author.get_by_role("link", name="New assessment").click()
    author.get_by_label("Title").fill(title)
    author.get_by_label("Attempts allowed").fill("1")  # one attempt: the learner sees the score
    author.get_by_role("button", name="Create draft").click()
    author.get_by_label("Add a question of kind").select_option("single_choice")
    author.get_by_role("button", name="Add question").click()
    author.get_by_label("Question").fill("Which planet is the largest?")
    author.get_by_label("Option 1", exact=True).fill("Mars")
    author.get_by_label("Option 2", exact=True).fill("Jupiter")
    author.get_by_label("Correct: option 1").check()  # the wrong key
    author.get_by_role("button", name="Save question").click()
    author.get_by_role("button", name="Publish").click()
    expect(author.get_by_text("Published: learners can now find and take it.")).to_be_visible()

    learner = browser.new_context(**browser_context_args).new_page()
    log_in(learner, "learner@example.com")
    learner.get_by_role("link", name=f"Open {title}").click()
    learner.get_by_role("button", name="Start", exact=True).click()
    learner.get_by_label("Jupiter").check()
    learner.get_by_role("button", name="Review and submit").click()
    learner.get_by_role("button", name="Yes, submit my answers").click()
    expect(learner.locator("[data-result]")).to_have_attribute("data-result", "failed")
    expect(learner.locator("[data-regraded]")).to_have_count(0)
    result_url = learner.url

    author.get_by_role("link", name=re.compile("Correct this question")).click()
    expect(author.get_by_role("heading", name=re.compile("Correct question 1"))).to_be_visible()
    author.get_by_label("Correct: option 1").uncheck()
    author.get_by_label("Correct: option 2").check()
    shot(author, "regrade-01-correction-form")
    author.get_by_role("button", name="Save correction").click()

    expect(author.get_by_role("heading", name="Regrade question 1")).to_be_visible()
    expect(author.locator("[data-regrade-summary]")).to_contain_text(
        "1 submitted attempt affected, 1 with a different score or result"
    )
    row = author.locator("table.regrade-preview tbody tr")
    expect(row).to_have_count(1)
    cells = row.locator("td")
    expect(cells.nth(0)).to_have_text("1")  # scored on version 1
    expect(cells.nth(3)).to_have_text("Not passed")
    expect(cells.nth(4)).to_have_text("Passed")
    history = author.locator("table.versions tbody tr")
    expect(history).to_have_count(2)
    expect(history.nth(0)).to_contain_text("Jupiter")
    expect(history.nth(1)).to_contain_text("Mars")
    shot(author, "regrade-02-preview-and-versions")
    # Nothing is written before the author confirms.
    learner.reload()
    expect(learner.locator("[data-result]")).to_have_attribute("data-result", "failed")

    author.get_by_role("button", name="Regrade 1 attempt").click()
    expect(
        author.get_by_text("Regraded: the affected results now use the corrected question.")
    ).to_be_visible()
    expect(author.get_by_text("Version 2")).to_be_visible()
    shot(author, "regrade-03-done")
    author.context.close()

    learner.goto(result_url)
    expect(learner.locator("[data-result]")).to_have_attribute("data-result", "passed")
    expect(learner.locator("[data-regraded]")).to_contain_text("Regraded on")
    shot(learner, "regrade-04-learner-result")
    learner.context.close()
