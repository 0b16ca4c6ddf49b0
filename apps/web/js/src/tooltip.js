// Chart tooltips: any element with `data-tooltip="text"` (the server-rendered SVG charts' bars
// and points) shows its text next to the pointer, or next to it when focused by keyboard.
// Without JavaScript the charts keep their SVG <title>, which browsers show on hover.

export const OFFSET_PX = 12;

/**
 * Where to put a tip of size `tip` near `point`, kept inside the viewport.
 *
 * @param {{x: number, y: number}} point
 * @param {{width: number, height: number}} tip
 * @param {{width: number, height: number}} viewport
 * @returns {{left: number, top: number}}
 */
export function tooltipPosition(point, tip, viewport, offset = OFFSET_PX) {
  let left = point.x + offset;
  let top = point.y + offset;
  if (left + tip.width > viewport.width) left = point.x - offset - tip.width; // flip to the left
  if (top + tip.height > viewport.height) top = point.y - offset - tip.height; // flip above
  return {
    left: Math.max(0, Math.min(left, viewport.width - tip.width)),
    top: Math.max(0, Math.min(top, viewport.height - tip.height)),
  };
}

/** @param {Document} doc */
export function bindTooltips(doc) {
  const targets = doc.querySelectorAll("[data-tooltip]");
  if (targets.length === 0) return null;
  const view = doc.defaultView;
  const tip = doc.createElement("div");
  tip.className = "chart-tooltip";
  tip.id = "chart-tooltip";
  tip.setAttribute("role", "tooltip");
  tip.hidden = true;
  tip.style.position = "fixed";
  tip.style.pointerEvents = "none";
  doc.body.append(tip);

  const show = (el, point) => {
    tip.textContent = el.getAttribute("data-tooltip");
    tip.hidden = false;
    const pos = tooltipPosition(
      point,
      { width: tip.offsetWidth, height: tip.offsetHeight },
      { width: view.innerWidth, height: view.innerHeight },
    );
    tip.style.left = `${pos.left}px`;
    tip.style.top = `${pos.top}px`;
  };
  const hide = () => {
    tip.hidden = true;
  };
  for (const el of targets) {
    if (!el.hasAttribute("tabindex")) el.setAttribute("tabindex", "0");
    el.setAttribute("aria-describedby", tip.id);
    el.addEventListener("pointerenter", (e) => show(el, { x: e.clientX, y: e.clientY }));
    el.addEventListener("pointermove", (e) => show(el, { x: e.clientX, y: e.clientY }));
    el.addEventListener("pointerleave", hide);
    el.addEventListener("focus", () => {
      const box = el.getBoundingClientRect();
      show(el, { x: box.left + box.width / 2, y: box.top });
    });
    el.addEventListener("blur", hide);
  }
  doc.addEventListener("keydown", (e) => {
    if (e.key === "Escape") hide();
  });
  return tip;
}
