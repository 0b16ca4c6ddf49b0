import assert from "node:assert/strict";
import { test } from "node:test";

import { bindQuestionNav, isTypingTarget, targetIndex } from "../src/keynav.js";

test("arrows and j/k pick the previous and next question", () => {
  const indexes = [1, 2, 3, 4];
  assert.equal(targetIndex("ArrowRight", 2, indexes), 3);
  assert.equal(targetIndex("j", 2, indexes), 3);
  assert.equal(targetIndex("ArrowLeft", 2, indexes), 1);
  assert.equal(targetIndex("k", 2, indexes), 1);
});

test("no move past the ends, and other keys do nothing", () => {
  assert.equal(targetIndex("ArrowLeft", 1, [1, 2, 3]), null);
  assert.equal(targetIndex("ArrowRight", 3, [1, 2, 3]), null);
  assert.equal(targetIndex("x", 2, [1, 2, 3]), null);
  assert.equal(targetIndex("Enter", 2, [1, 2, 3]), null);
});

test("follows the links' own order even with gaps", () => {
  assert.equal(targetIndex("j", 2, [5, 2, 9]), 5);
  assert.equal(targetIndex("k", 9, [5, 2, 9]), 5);
});

test("keys typed into a field are the field's", () => {
  assert.equal(isTypingTarget({ tagName: "TEXTAREA" }), true);
  assert.equal(isTypingTarget({ tagName: "input", type: "text" }), true);
  assert.equal(isTypingTarget({ tagName: "INPUT", type: "radio" }), true);
  assert.equal(isTypingTarget({ tagName: "SELECT" }), true);
  assert.equal(isTypingTarget({ tagName: "DIV", isContentEditable: true }), true);
  assert.equal(isTypingTarget({ tagName: "BODY" }), false);
  assert.equal(isTypingTarget(null), false);
});

function fakeNav(current) {
  const handlers = [];
  const doc = {
    addEventListener: (type, fn) => handlers.push(fn),
    removeEventListener: () => {},
    dispatchEvent: (event) => handlers.forEach((fn) => fn(event)),
  };
  const links = [1, 2, 3].map((i) => ({
    href: `/attempts/7/questions/${i}`,
    dataset: { questionIndex: String(i) },
    getAttribute: (name) => (name === "aria-current" && i === current ? "page" : null),
  }));
  return { doc, nav: { ownerDocument: doc, dataset: {}, querySelectorAll: () => links } };
}

function key(k, target = { tagName: "BODY" }, modifiers = {}) {
  return {
    key: k,
    target,
    altKey: false,
    ctrlKey: false,
    metaKey: false,
    shiftKey: false,
    defaultPrevented: false,
    preventDefault() {
      this.defaultPrevented = true;
    },
    ...modifiers,
  };
}

test("the binding follows the next link, but not while typing or with a modifier", () => {
  const { doc, nav } = fakeNav(2);
  const visited = [];
  bindQuestionNav(nav, { navigate: (href) => visited.push(href) });
  doc.dispatchEvent(key("j", { tagName: "TEXTAREA" }));
  doc.dispatchEvent(key("ArrowRight", { tagName: "BODY" }, { ctrlKey: true }));
  assert.deepEqual(visited, []);
  doc.dispatchEvent(key("ArrowRight"));
  doc.dispatchEvent(key("k"));
  assert.deepEqual(visited, ["/attempts/7/questions/3", "/attempts/7/questions/1"]);
});
