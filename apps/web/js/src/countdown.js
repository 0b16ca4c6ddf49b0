// `<span data-countdown data-deadline="2026-11-26T10:35:00Z">` shows the time left as mm:ss,
// warns in the last minute, and at zero says "time is up" and submits the answer form (the
// server enforces the deadline either way; this only saves the learner a click).

export const WARN_BELOW_MS = 60_000;
export const TIME_IS_UP = "time is up";

/** @param {number} ms */
export function formatRemaining(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const minutes = Math.floor(total / 60);
  const seconds = total % 60;
  return `${String(minutes).padStart(2, "0")}:${String(seconds).padStart(2, "0")}`;
}

/**
 * What to show at `nowMs` for a deadline (ms since the epoch).
 *
 * @param {number} deadlineMs
 * @param {number} nowMs
 * @returns {{text: string, warning: boolean, expired: boolean}}
 */
export function countdownState(deadlineMs, nowMs) {
  const left = deadlineMs - nowMs;
  if (left <= 0) return { text: TIME_IS_UP, warning: true, expired: true };
  return { text: formatRemaining(left), warning: left <= WARN_BELOW_MS, expired: false };
}

/**
 * An ISO-8601 UTC timestamp ("...Z" or "+00:00") as ms since the epoch, or null.
 *
 * @param {string | undefined} value
 */
export function parseDeadline(value) {
  if (!value || !/(Z|[+-]\d\d:?\d\d)$/.test(value.trim())) return null; // never guess a zone
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
}

/** The form to submit at zero: `data-countdown-form="id"`, the enclosing form, or the answer form. */
function formFor(el) {
  const doc = el.ownerDocument;
  const id = el.dataset.countdownForm;
  return (
    (id && doc.getElementById(id)) || el.closest("form") || doc.querySelector("form[data-autosave]")
  );
}

/**
 * @param {HTMLElement} el
 * @param {{now?: () => number, setInterval?: Function, clearInterval?: Function}} [options]
 * @returns {(() => void) | null} stops the countdown; null when the deadline is unreadable
 */
export function bindCountdown(
  el,
  { now = Date.now, setInterval = globalThis.setInterval, clearInterval = globalThis.clearInterval } = {},
) {
  const deadline = parseDeadline(el.dataset.deadline);
  if (deadline === null) return null;
  el.setAttribute("role", "timer");
  let timer = null;
  const tick = (submitAtZero) => {
    const state = countdownState(deadline, now());
    el.textContent = state.text;
    el.toggleAttribute("data-warning", state.warning);
    if (state.warning) el.setAttribute("aria-live", "assertive");
    if (state.expired) {
      if (timer !== null) clearInterval(timer);
      // Only when the time runs out on this page: a page opened after the deadline must not
      // submit itself over and over.
      const form = submitAtZero ? formFor(el) : null;
      if (form) {
        if (form.requestSubmit) form.requestSubmit();
        else form.submit();
      }
    }
    return state.expired;
  };
  // 250 ms: the shown second never lags by more.
  if (!tick(false)) timer = setInterval(() => tick(true), 250);
  return () => clearInterval(timer);
}
