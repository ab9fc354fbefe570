"use strict";
(() => {
  if (!CS.requireKey()) return;
  const { el, api, clear } = CS;
  const body = document.querySelector("#queue tbody");
  const filter = document.getElementById("queue-filter");
  const settingFilter = document.getElementById("queue-setting");
  const info = document.getElementById("page-info");
  const prev = document.getElementById("prev-page");
  const next = document.getElementById("next-page");
  const LIMIT = 25;
  let offset = 0;

  async function load() {
    const params = new URLSearchParams({ limit: LIMIT, offset });
    if (filter.value) params.set("status", filter.value);
    if (settingFilter.value) params.set("setting", settingFilter.value);
    let page;
    try { page = await api("/v1/notes?" + params); } catch (e) { CS.status(e.message, "error"); return; }
    clear(body);
    for (const n of page.items) {
      // a coder knows a note by its external id (the encounter's); the note id only when there is none
      const link = el("a", { href: "/coder/notes/" + encodeURIComponent(n.note_id), text: n.external_id || n.note_id,
                             title: "note " + n.note_id });
      body.append(el("tr", { dataset: { note: n.note_id } },
        el("td", {}, link), el("td", { text: n.setting || "not given" }),
        el("td", { text: CS.formatDate(n.created_at) }),
        el("td", { class: "num", text: n.suggestion_count === null || n.suggestion_count === undefined ? "" : String(n.suggestion_count) }),
        el("td", {}, el("span", { class: "badge st-" + n.status, text: n.status }))));
    }
    document.getElementById("queue-empty").hidden = page.items.length > 0;
    const last = Math.min(page.total, offset + page.items.length);
    info.textContent = page.total ? `${offset + 1}–${last} of ${page.total}` : "";
    prev.disabled = offset === 0;
    next.disabled = last >= page.total;
  }

  /* Open work that uses codes the loaded release no longer bills (GET /v1/codesets/revalidation). */
  async function loadRetired() {
    let page;
    try { page = await api("/v1/codesets/revalidation?limit=50"); } catch (e) { return; }
    const rows = document.querySelector("#retired tbody");
    clear(rows);
    for (const note of page.items) {
      for (const r of note.retired) {
        const link = el("a", { href: "/coder/notes/" + encodeURIComponent(note.note_id), text: note.note_id });
        const successors = r.successors.slice(0, 3)
          .map((s) => el("li", { text: `${s.code} ${s.description} (${s.method}, ${s.confidence.toFixed(2)})` }));
        rows.append(el("tr", { dataset: { code: r.code } },
          el("td", {}, link), el("td", { text: r.code }),
          el("td", { text: r.where === "final" ? "final code" : "suggestion" }),
          successors.length ? el("td", {}, el("ul", {}, ...successors)) : el("td", { text: "none found: choose one" })));
      }
    }
    document.getElementById("retired-box").hidden = page.total === 0;
  }

  filter.addEventListener("change", () => { offset = 0; load(); });
  settingFilter.addEventListener("change", () => { offset = 0; load(); });
  prev.addEventListener("click", () => { offset = Math.max(0, offset - LIMIT); load(); });
  next.addEventListener("click", () => { offset += LIMIT; load(); });

  document.getElementById("new-note-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = document.getElementById("new-text").value;
    const external = document.getElementById("new-external").value.trim();
    const setting = document.getElementById("new-setting").value;
    const payload = { text };
    if (external) payload.external_id = external;
    if (setting) payload.setting = setting;
    try {
      const created = await api("/v1/notes", { method: "POST", body: payload });
      window.location.assign("/coder/notes/" + encodeURIComponent(created.note_id));
    } catch (e) { CS.status("Could not submit the note: " + e.message, "error"); }
  });

  load();
  loadRetired();
})();
