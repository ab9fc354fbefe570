/* Type-ahead over GET /v1/codes/search (all loaded systems): an input with role=combobox and a listbox.
   Arrow keys move, Enter chooses, a click chooses. onChoose({system, code, description, billable}). */
"use strict";

const CodeSearch = (() => {
  function attach(input, list, onChoose) {
    let hits = [];
    let active = -1;
    let timer = null;
    let seq = 0;

    function render() {
      CS.clear(list);
      hits.forEach((hit, i) => {
        const option = CS.el("li", {
          role: "option", id: list.id + "-opt-" + i, class: "code-option" + (i === active ? " active" : ""),
          "aria-selected": i === active ? "true" : "false", dataset: { code: hit.code, system: hit.system },
          onmousedown: (e) => { e.preventDefault(); choose(i); },
        },
        CS.el("span", { class: "code", text: hit.code }), " ",
        CS.el("span", { class: "sys sys-" + hit.system, text: CS.systemLabel(hit.system) }), " ",
        CS.el("span", { class: "desc", text: hit.description }),
        hit.billable ? null : CS.el("span", { class: "badge warn", text: "not billable" }));
        list.append(option);
      });
      input.setAttribute("aria-expanded", hits.length ? "true" : "false");
      if (active >= 0) {
        input.setAttribute("aria-activedescendant", list.id + "-opt-" + active);
        const node = document.getElementById(list.id + "-opt-" + active);
        if (node) node.scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    async function search() {
      const q = input.value.trim();
      const mine = ++seq;
      if (!q) { hits = []; active = -1; render(); return; }
      try {
        const result = await CS.api("/v1/codes/search?" + new URLSearchParams({ q, limit: 15 }));
        if (mine !== seq) return; // a newer query is on its way
        hits = result;
        active = hits.length ? 0 : -1;
        render();
      } catch (e) { CS.status("Code search failed: " + e.message, "error"); }
    }

    function choose(i) {
      if (i < 0 || i >= hits.length) return;
      const hit = hits[i];
      onChoose(hit);
    }

    input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(search, 150); });
    input.addEventListener("keydown", (e) => {
      if (e.key === "ArrowDown" && hits.length) { e.preventDefault(); active = (active + 1) % hits.length; render(); }
      else if (e.key === "ArrowUp" && hits.length) { e.preventDefault(); active = (active - 1 + hits.length) % hits.length; render(); }
      else if (e.key === "Enter") {
        e.preventDefault();
        if (active >= 0) choose(active);
      }
    });

    return {
      reset() { input.value = ""; hits = []; active = -1; seq++; render(); },
      current() { return active >= 0 ? hits[active] : null; },
      flush() { clearTimeout(timer); return search(); },
    };
  }
  return { attach };
})();
