import assert from "node:assert/strict";
import { test } from "node:test";

import { STATUS, accepted, createAutosave } from "../src/autosave.js";

/** Manual timers: `advance()` runs what is due, so no test waits for real time. */
function fakeTimers() {
  let now = 0;
  let nextId = 1;
  const pending = new Map();
  return {
    setTimeout(fn, ms) {
      pending.set(nextId, { at: now + ms, fn });
      return nextId++;
    },
    clearTimeout(id) {
      pending.delete(id);
    },
    async advance(ms) {
      now += ms;
      for (const [id, t] of [...pending]) {
        if (t.at <= now) {
          pending.delete(id);
          t.fn();
        }
      }
      await new Promise((resolve) => setImmediate(resolve)); // let the save's promises settle
    },
  };
}

function setup({ results = [] } = {}) {
  const timers = fakeTimers();
  const statuses = [];
  const saves = [];
  const autosave = createAutosave({
    delayMs: 500,
    timers,
    onStatus: (s) => statuses.push(s),
    save: async () => {
      saves.push(saves.length);
      const r = results.shift() ?? true;
      if (r instanceof Error) throw r;
      return r;
    },
  });
  return { timers, statuses, saves, autosave };
}

test("saves once after the typing pauses, not on every keystroke", async () => {
  const { timers, statuses, saves, autosave } = setup();
  autosave.changed();
  await timers.advance(300);
  autosave.changed();
  await timers.advance(300);
  autosave.changed();
  assert.equal(saves.length, 0);
  await timers.advance(500);
  assert.equal(saves.length, 1);
  assert.equal(statuses.at(-1), STATUS.saved);
  assert.equal(autosave.pending, false);
});

test("a failed save says 'not saved' and the next edit retries", async () => {
  const { timers, statuses, saves, autosave } = setup({ results: [false, true] });
  autosave.changed();
  await timers.advance(500);
  assert.equal(statuses.at(-1), STATUS.failed);
  assert.equal(autosave.pending, true);
  await timers.advance(5000);
  assert.equal(saves.length, 1, "no retry loop on its own");
  autosave.changed();
  await timers.advance(500);
  assert.equal(saves.length, 2);
  assert.equal(statuses.at(-1), STATUS.saved);
});

test("a network error counts as not saved", async () => {
  const { timers, statuses, autosave } = setup({ results: [new TypeError("Failed to fetch")] });
  autosave.changed();
  await timers.advance(500);
  assert.equal(statuses.at(-1), STATUS.failed);
});

test("flush saves what is pending at once", async () => {
  const { saves, statuses, autosave } = setup();
  autosave.changed();
  assert.equal(await autosave.flush(), true);
  assert.equal(saves.length, 1);
  assert.deepEqual(statuses, [STATUS.pending, STATUS.saving, STATUS.saved]);
  assert.equal(await autosave.flush(), true, "nothing left: no second save");
  assert.equal(saves.length, 1);
});

test("cancel forgets the pending save (the plain submit carries the answer)", async () => {
  const { timers, saves, autosave } = setup();
  autosave.changed();
  autosave.cancel();
  await timers.advance(1000);
  assert.equal(saves.length, 0);
  assert.equal(autosave.pending, false);
});

test("an edit during a save is saved after it, never two saves at once", async () => {
  const timers = fakeTimers();
  let inFlight = 0;
  let maxInFlight = 0;
  let release;
  const saves = [];
  const autosave = createAutosave({
    delayMs: 500,
    timers,
    save: async () => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      saves.push(saves.length);
      if (saves.length === 1) await new Promise((r) => (release = r));
      inFlight -= 1;
      return true;
    },
  });
  autosave.changed();
  await timers.advance(500);
  autosave.changed(); // while the first save is in flight
  await timers.advance(500);
  assert.equal(saves.length, 1);
  release();
  await timers.advance(0);
  await timers.advance(500);
  assert.equal(saves.length, 2);
  assert.equal(maxInFlight, 1);
});

test("accepted: a 2xx only; a redirect (expired session, finished attempt) is not saved", () => {
  assert.equal(accepted({ ok: true, status: 204, type: "basic" }), true);
  assert.equal(accepted({ ok: false, status: 0, type: "opaqueredirect" }), false);
  assert.equal(accepted({ ok: false, status: 403, type: "basic" }), false);
});
