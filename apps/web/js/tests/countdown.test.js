import assert from "node:assert/strict";
import { test } from "node:test";

import {
  TIME_IS_UP,
  bindCountdown,
  countdownState,
  formatRemaining,
  parseDeadline,
} from "../src/countdown.js";

test("formats the time left as mm:ss, rounding up to the shown second", () => {
  assert.equal(formatRemaining(0), "00:00");
  assert.equal(formatRemaining(999), "00:01");
  assert.equal(formatRemaining(61_000), "01:01");
  assert.equal(formatRemaining(90 * 60_000), "90:00");
  assert.equal(formatRemaining(-5), "00:00");
});

test("warns in the last minute and says 'time is up' at zero", () => {
  const deadline = Date.parse("2026-11-26T10:00:00Z");
  assert.deepEqual(countdownState(deadline, deadline - 61_000), {
    text: "01:01",
    warning: false,
    expired: false,
  });
  assert.equal(countdownState(deadline, deadline - 60_000).warning, true);
  assert.deepEqual(countdownState(deadline, deadline), {
    text: TIME_IS_UP,
    warning: true,
    expired: true,
  });
});

test("reads ISO-8601 UTC deadlines and refuses ones without a zone", () => {
  assert.equal(parseDeadline("2026-11-26T10:00:00Z"), Date.UTC(2026, 10, 26, 10));
  assert.equal(parseDeadline("2026-11-26T10:00:00+00:00"), Date.UTC(2026, 10, 26, 10));
  assert.equal(parseDeadline("2026-11-26T10:00:00"), null, "local time would depend on the browser");
  assert.equal(parseDeadline("soon Z"), null);
  assert.equal(parseDeadline(undefined), null);
});

/** Just enough of an element for the binding: dataset, attributes, text, closest(form). */
function fakeElement(deadline, form) {
  const attributes = new Map();
  return {
    dataset: { deadline },
    textContent: "",
    ownerDocument: { getElementById: () => null, querySelector: () => null },
    setAttribute: (k, v) => attributes.set(k, v),
    toggleAttribute: (k, on) => (on ? attributes.set(k, "") : attributes.delete(k)),
    hasAttribute: (k) => attributes.has(k),
    closest: () => form,
  };
}

test("the binding ticks, warns, then submits the form once at zero", () => {
  const deadline = Date.parse("2026-11-26T10:00:00Z");
  let now = deadline - 61_000;
  let tick = null;
  let cleared = false;
  let submits = 0;
  const el = fakeElement("2026-11-26T10:00:00Z", { requestSubmit: () => (submits += 1) });
  const stop = bindCountdown(el, {
    now: () => now,
    setInterval: (fn) => ((tick = fn), 7),
    clearInterval: () => (cleared = true),
  });
  assert.equal(typeof stop, "function");
  assert.equal(el.textContent, "01:01");
  assert.equal(el.hasAttribute("data-warning"), false);
  now = deadline - 30_000;
  tick();
  assert.equal(el.textContent, "00:30");
  assert.equal(el.hasAttribute("data-warning"), true);
  now = deadline + 10;
  tick();
  assert.equal(el.textContent, TIME_IS_UP);
  assert.equal(submits, 1);
  assert.equal(cleared, true);
});

test("a page opened after the deadline says so and does not submit itself", () => {
  let submits = 0;
  const el = fakeElement("2026-11-26T10:00:00Z", { requestSubmit: () => (submits += 1) });
  const stop = bindCountdown(el, {
    now: () => Date.parse("2026-11-26T10:05:00Z"),
    setInterval: () => assert.fail("no timer once the time is up"),
    clearInterval: () => {},
  });
  assert.equal(typeof stop, "function");
  assert.equal(el.textContent, TIME_IS_UP);
  assert.equal(submits, 0);
});

test("an unreadable deadline leaves the element alone", () => {
  const el = fakeElement("tomorrow", null);
  assert.equal(bindCountdown(el, { setInterval: () => assert.fail("no timer") }), null);
  assert.equal(el.textContent, "");
});
