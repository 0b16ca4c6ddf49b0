// Saves the answer form as the learner types: a debounced POST of the form, to the form's own
// action, with the form's CSRF token field. Without JavaScript the form is a plain POST form.

export const DEFAULT_DELAY_MS = 800;

export const STATUS = Object.freeze({
  pending: "Unsaved changes",
  saving: "Saving…",
  saved: "Answer saved.",
  failed: "Not saved: check your connection, then edit or press Save.",
});

/**
 * The timing logic, free of the DOM: call `changed()` after every edit; `save()` runs once the
 * edits pause for `delayMs`, never twice at once, and again if edits arrived during a save.
 * A failed save is not retried on its own: the next edit, `flush()` or the plain submit retries.
 *
 * @param {object} options
 * @param {() => Promise<boolean>} options.save resolves true when the server kept the answer
 * @param {(status: string) => void} [options.onStatus] called with one of the STATUS values
 * @param {number} [options.delayMs]
 * @param {{setTimeout: Function, clearTimeout: Function}} [options.timers]
 */
export function createAutosave({
  save,
  onStatus = () => {},
  delayMs = DEFAULT_DELAY_MS,
  timers = globalThis,
}) {
  let timer = null;
  let saving = null; // the promise of the save in flight
  let dirty = false;

  function schedule() {
    if (timer !== null) timers.clearTimeout(timer);
    timer = timers.setTimeout(() => {
      timer = null;
      if (!saving) saving = saveNow();
    }, delayMs);
  }

  async function saveNow() {
    dirty = false;
    onStatus(STATUS.saving);
    let ok = false;
    try {
      ok = await save();
    } catch {
      ok = false;
    }
    saving = null;
    if (!ok) {
      dirty = true;
      onStatus(STATUS.failed);
    } else if (dirty) {
      onStatus(STATUS.pending);
      schedule();
    } else {
      onStatus(STATUS.saved);
    }
    return ok;
  }

  function cancel() {
    if (timer !== null) timers.clearTimeout(timer);
    timer = null;
  }

  return {
    changed() {
      dirty = true;
      onStatus(STATUS.pending);
      if (!saving) schedule(); // else saveNow() reschedules when the save in flight ends
    },
    /** Save what is pending now; resolves true when nothing is left unsaved. */
    async flush() {
      cancel();
      if (saving) await saving;
      cancel();
      if (!dirty) return true;
      saving = saveNow();
      return saving;
    },
    /** Forget the pending save (the plain form post carries the answer). */
    cancel() {
      cancel();
      dirty = false;
    },
    get pending() {
      return dirty || saving !== null;
    },
  };
}

/**
 * Was the answer saved? The web app answers an autosave (header `X-Autosave: 1`) with 204 No
 * Content. A redirect (not followed: an opaque redirect) means it was NOT saved: the session
 * expired (to the login page) or the attempt is over (to its result).
 *
 * @param {{ok: boolean, status?: number, type?: string}} response
 */
export function accepted(response) {
  return response.ok && response.type !== "opaqueredirect";
}

/**
 * Enhance `<form data-autosave>`: status text in `[data-autosave-status]` (created if missing).
 *
 * @param {HTMLFormElement} form
 * @param {{fetch?: typeof fetch, delayMs?: number}} [options]
 */
export function bindAutosave(
  form,
  { fetch = (...args) => globalThis.fetch(...args), delayMs = DEFAULT_DELAY_MS } = {},
) {
  let status = form.querySelector("[data-autosave-status]");
  if (!status) {
    status = form.ownerDocument.createElement("p");
    status.setAttribute("data-autosave-status", "");
    form.append(status);
  }
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");

  const autosave = createAutosave({
    delayMs,
    onStatus(text) {
      status.textContent = text;
      status.dataset.state = Object.keys(STATUS).find((k) => STATUS[k] === text) ?? "";
    },
    async save() {
      const response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form), // includes the CSRF token field
        credentials: "same-origin",
        redirect: "manual",
        headers: { "X-Autosave": "1" },
      });
      return accepted(response);
    },
  });
  form.addEventListener("input", () => autosave.changed());
  form.addEventListener("change", () => autosave.changed());
  // The plain submit carries the answer anyway: nothing left to autosave.
  form.addEventListener("submit", () => autosave.cancel());
  // Leaving the page (a question link, the keyboard navigation) within the debounce delay.
  const view = form.ownerDocument.defaultView;
  view?.addEventListener("pagehide", () => {
    if (autosave.pending && view.navigator.sendBeacon) {
      view.navigator.sendBeacon(form.action, new FormData(form));
    }
  });
  return autosave;
}
