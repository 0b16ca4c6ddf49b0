// Entry module, loaded by every page as `<script type="module" src="/static/js/app.js">`.
// Each enhancement finds its own markup; pages without it are left alone, and every page works
// without JavaScript.

import { bindAutosave } from "./autosave.js";
import { bindCountdown } from "./countdown.js";
import { bindQuestionNav } from "./keynav.js";
import { bindTooltips } from "./tooltip.js";

/** @param {Document} doc */
export function enhance(doc) {
  doc.querySelectorAll("form[data-autosave]").forEach((form) => bindAutosave(form));
  doc.querySelectorAll("[data-countdown]").forEach((el) => bindCountdown(el));
  const nav = doc.querySelector("nav[data-question-nav]");
  if (nav) bindQuestionNav(nav);
  bindTooltips(doc);
  doc.documentElement.dataset.js = "on";
}

if (typeof document !== "undefined") {
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", () => enhance(document));
  } else {
    enhance(document);
  }
}
