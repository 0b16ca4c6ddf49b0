// Keyboard navigation between questions: `<nav data-question-nav>` holding
// `<a data-question-index="N">` links; left/right arrows or k/j go to the previous/next
// question, except while the learner is typing in a field.

const PREVIOUS = new Set(["ArrowLeft", "k"]);
const NEXT = new Set(["ArrowRight", "j"]);

/**
 * The question to go to, or null.
 *
 * @param {string} key KeyboardEvent.key
 * @param {number} current index of the current question
 * @param {number[]} indexes the indexes the nav links to
 */
export function targetIndex(key, current, indexes) {
  const step = PREVIOUS.has(key) ? -1 : NEXT.has(key) ? 1 : 0;
  if (step === 0) return null;
  const sorted = [...new Set(indexes)].sort((a, b) => a - b);
  const candidates = step > 0 ? sorted.filter((i) => i > current) : sorted.filter((i) => i < current).reverse();
  return candidates.length ? candidates[0] : null;
}

/**
 * Is the key meant for a field (typing, a select, an editable region)?
 *
 * @param {{tagName?: string, isContentEditable?: boolean, type?: string} | null} target
 */
export function isTypingTarget(target) {
  if (!target) return false;
  if (target.isContentEditable) return true;
  const tag = (target.tagName || "").toUpperCase();
  if (tag === "TEXTAREA" || tag === "SELECT") return true;
  // Radio buttons and checkboxes use the arrow keys themselves.
  return tag === "INPUT";
}

/** @param {{altKey: boolean, ctrlKey: boolean, metaKey: boolean, shiftKey: boolean}} event */
export function hasModifier(event) {
  return event.altKey || event.ctrlKey || event.metaKey || event.shiftKey;
}

/** The current question: the link with aria-current, or `data-current-index` on the nav. */
function currentIndex(nav, links) {
  const marked = links.find((a) => a.getAttribute("aria-current"));
  if (marked) return Number(marked.dataset.questionIndex);
  return Number(nav.dataset.currentIndex ?? NaN);
}

/**
 * @param {HTMLElement} nav
 * @param {{navigate?: (href: string) => void}} [options]
 */
export function bindQuestionNav(nav, { navigate } = {}) {
  const doc = nav.ownerDocument;
  const go = navigate ?? ((href) => doc.defaultView.location.assign(href));
  const onKey = (event) => {
    if (event.defaultPrevented || hasModifier(event) || isTypingTarget(event.target)) return;
    const links = [...nav.querySelectorAll("a[data-question-index]")];
    const current = currentIndex(nav, links);
    if (Number.isNaN(current)) return;
    const index = targetIndex(event.key, current, links.map((a) => Number(a.dataset.questionIndex)));
    if (index === null) return;
    const link = links.find((a) => Number(a.dataset.questionIndex) === index);
    event.preventDefault();
    go(link.href);
  };
  doc.addEventListener("keydown", onKey);
  return () => doc.removeEventListener("keydown", onKey);
}
