import assert from "node:assert/strict";
import { test } from "node:test";

import { OFFSET_PX, tooltipPosition } from "../src/tooltip.js";

const viewport = { width: 800, height: 600 };
const tip = { width: 100, height: 30 };

test("the tip sits below right of the pointer", () => {
  assert.deepEqual(tooltipPosition({ x: 100, y: 100 }, tip, viewport), {
    left: 100 + OFFSET_PX,
    top: 100 + OFFSET_PX,
  });
});

test("near the right and bottom edges it flips to stay visible", () => {
  const pos = tooltipPosition({ x: 780, y: 590 }, tip, viewport);
  assert.deepEqual(pos, { left: 780 - OFFSET_PX - 100, top: 590 - OFFSET_PX - 30 });
});

test("never outside the viewport, even when the tip is wider than the room", () => {
  const pos = tooltipPosition({ x: 5, y: 5 }, { width: 900, height: 30 }, viewport);
  assert.ok(pos.left >= 0 && pos.top >= 0, JSON.stringify(pos));
});
