/* The coder's workbench for one note: highlighted evidence, suggestions best first, decisions made with
   the mouse or the keyboard alone, the final code set, and submit through POST /v1/notes/{id}/decisions.
   Every string from the API goes into the page through textContent (CS.el), never as HTML. */
"use strict";
(() => {
  if (!CS.requireKey()) return;
  const { el, api, clear } = CS;
  const noteId = document.getElementById("note-title").dataset.noteId;
  const textBox = document.getElementById("note-text");
  const list = document.getElementById("suggestions");          // the short list: above the model's threshold
  const moreList = document.getElementById("more-suggestions");  // the rest, under "more candidates"
  const moreBox = document.getElementById("more-candidates");
  const undecidedDialog = document.getElementById("undecided-dialog");
  const finalList = document.getElementById("final-codes");
  const searchDialog = document.getElementById("search-dialog");
  const helpDialog = document.getElementById("help-dialog");
  const reasonInput = document.getElementById("decision-reason");

  let note = null;
  let selected = 0;
  let pendingBySuggestion = new Map(); // suggestion_id -> {decision, label info}
  let pendingByCode = [];             // [{decision, hit}] add / reject by code
  let searchMode = null;              // {mode: "replace"|"add", index}
  let order = [];                     // keys of the final codes in the coder's order (the server's on load)
  let poa = new Map();                // key -> Y | N | U | W (inpatient diagnoses)
  let sequenceDirty = false;          // the coder moved a code or set a POA: submit sends the sequence
  let returnFocus = null;
  const MUTED = new Set(["family", "historical", "possible", "hypothetical", "resolved"]);

  const key = (system, code) => system + "|" + code;

  // -- loading ------------------------------------------------------------------------
  async function load() {
    try {
      note = await api("/v1/notes/" + encodeURIComponent(noteId));
    } catch (e) {
      CS.status(e.status === 404 ? "There is no note " + noteId + "." : "Could not load the note: " + e.message, "error");
      return;
    }
    pendingBySuggestion = new Map();
    pendingByCode = [];
    order = note.final_codes.map((c) => key(c.system, c.code));
    poa = new Map(note.final_codes.filter((c) => c.poa).map((c) => [key(c.system, c.code), c.poa]));
    sequenceDirty = false;
    selected = Math.min(selected, Math.max(0, note.suggestions.length - 1));
    document.getElementById("note-meta").textContent = [
      note.external_id ? "external id " + note.external_id : null,
      note.setting, "status " + note.status, "model " + note.model_version,
      "from " + note.created_by, CS.formatDate(note.created_at),
    ].filter(Boolean).join(" · ");
    const notices = document.getElementById("notices");
    clear(notices);
    (note.notices || []).forEach((n) => notices.append(el("li", { text: n })));
    notices.hidden = !(note.notices || []).length;
    const short = note.suggestions.filter((s) => !s.needs_review).length;
    moreBox.open = short === 0;  // nothing above the threshold: the candidates are the list
    renderText();
    renderAll();
    highlight(selected, false);
  }

  function renderAll() {
    renderSuggestions();
    renderFinal();
    renderFindings();
    renderHistory();
  }

  // -- note text with evidence highlighted ------------------------------------------
  function renderText() {
    const text = note.text;
    const spans = [];
    note.suggestions.forEach((s, i) => {
      for (const ev of s.evidence) {
        const start = Math.max(0, Math.min(text.length, ev.start));
        const end = Math.max(start, Math.min(text.length, ev.end));
        if (end > start) spans.push({ start, end, i, system: s.system, assertion: ev.assertion });
      }
    });
    const cuts = new Set([0, text.length]);
    spans.forEach((sp) => { cuts.add(sp.start); cuts.add(sp.end); });
    const points = [...cuts].sort((a, b) => a - b);
    clear(textBox);
    for (let k = 0; k + 1 < points.length; k++) {
      const a = points[k], b = points[k + 1];
      const piece = text.slice(a, b);
      const covering = spans.filter((sp) => sp.start <= a && sp.end >= b);
      if (!covering.length) { textBox.append(document.createTextNode(piece)); continue; }
      const indices = [...new Set(covering.map((sp) => sp.i))];
      const present = covering.some((sp) => sp.assertion === "present");
      const negated = !present && covering.some((sp) => sp.assertion === "negated");
      const muted = !present && !negated && covering.some((sp) => MUTED.has(sp.assertion));
      const codes = indices.map((i) => note.suggestions[i].code).join(", ");
      const assertions = [...new Set(covering.map((sp) => sp.assertion))].join(", ");
      textBox.append(el("mark", {
        class: "ev sys-" + covering[0].system + (negated ? " as-negated" : "") + (muted ? " as-muted" : ""),
        dataset: { s: indices.join(" ") }, title: codes + " (" + assertions + ")",
        onclick: () => select(indices[0], true),
      }, piece));
    }
  }

  function highlight(index, scroll) {
    textBox.querySelectorAll("mark.active").forEach((m) => m.classList.remove("active"));
    const marks = [...textBox.querySelectorAll("mark")].filter((m) => m.dataset.s.split(" ").includes(String(index)));
    marks.forEach((m) => m.classList.add("active"));
    if (scroll && marks.length) marks[0].scrollIntoView({ block: "center", behavior: "smooth" });
  }

  // -- suggestions ------------------------------------------------------------------
  function storedDecision(suggestionId) {
    let last = null;
    for (const d of note.decisions) if (d.suggestion_id === suggestionId) last = d;
    return last;
  }

  function decisionOf(s) {
    const pending = pendingBySuggestion.get(s.suggestion_id);
    if (pending) return { ...pending.decision, replacementHit: pending.hit, pending: true };
    const stored = storedDecision(s.suggestion_id);
    return stored ? { action: stored.action, replacementHit: stored.replacement, pending: false } : null;
  }

  function decisionLabel(d) {
    if (!d) return "not decided";
    const words = { accept: "accepted", reject: "rejected", replace: "replaced" };
    let label = words[d.action] || d.action;
    if (d.action === "replace" && d.replacementHit) label += " by " + d.replacementHit.code;
    return label + (d.pending ? " (not submitted)" : "");
  }

  function renderSuggestions() {
    clear(list);
    clear(moreList);
    document.getElementById("no-suggestions").hidden = note.suggestions.length > 0;
    const more = note.suggestions.filter((s) => s.needs_review).length;
    moreBox.hidden = more === 0;
    document.getElementById("more-count").textContent = String(more);
    document.getElementById("no-short-list").hidden = !note.suggestions.length || more < note.suggestions.length;
    note.suggestions.forEach((s, i) => {
      const d = decisionOf(s);
      const pct = Math.round(s.confidence * 100);
      const item = el("li", {
        class: "sugg" + (i === selected ? " selected" : "") + (d ? " dec-" + d.action : ""),
        "aria-current": i === selected ? "true" : null, dataset: { index: i, code: s.code },
      },
      el("button", { type: "button", class: "sugg-main", onclick: () => select(i, true),
                     "aria-label": `${s.code} ${s.description}, confidence ${pct}%` +
                       (s.needs_review ? ", needs review" : "") + ", " + decisionLabel(d) },
        el("span", { class: "code", text: s.code }),
        el("span", { class: "sys sys-" + s.system, text: CS.systemLabel(s.system) }),
        s.principal ? el("span", { class: "badge principal", text: "principal" }) : null,
        s.needs_review ? el("span", { class: "badge review", text: "needs review" }) : null,
        el("span", { class: "desc", text: s.description })),
      el("div", { class: "conf" },
        el("span", { class: "bar", "aria-hidden": "true" }, el("span", { class: "fill" + (s.needs_review ? " low" : ""), style: null })),
        el("span", { class: "pct", text: pct + "%" })),
      el("p", { class: "reason small", text: s.reason +
        (s.ranker_score !== null && s.ranker_score !== undefined && s.guidelines && s.guidelines.length
          ? ` (ranker score ${Math.round(s.ranker_score * 100)}%)` : "") }),
      s.guidelines && s.guidelines.length ? el("ul", { class: "guidelines small" }, s.guidelines.map((g) =>
        el("li", {}, el("span", { class: "badge guideline", text: g.section }), " ", g.message))) : null,
      el("ul", { class: "evidence small" }, s.evidence.map((ev) =>
        el("li", {}, el("q", { text: ev.text }), " ",
          el("span", { class: "badge as-" + ev.assertion, text: ev.assertion }),
          ev.section ? el("span", { class: "muted", text: " · " + ev.section }) : null))),
      el("p", { class: "decision small" }, el("span", { class: "state", text: decisionLabel(d) })),
      el("div", { class: "sugg-actions" },
        el("button", { type: "button", class: "act-accept", onclick: () => decide(i, "accept"), "aria-keyshortcuts": "a" }, "Accept"),
        el("button", { type: "button", class: "act-reject", onclick: () => decide(i, "reject"), "aria-keyshortcuts": "r" }, "Reject"),
        el("button", { type: "button", class: "act-replace", onclick: () => openSearch("replace", i), "aria-keyshortcuts": "e" }, "Replace…"),
        d && d.pending ? el("button", { type: "button", class: "act-undo", onclick: () => undo(i), "aria-keyshortcuts": "u" }, "Undo") : null));
      // width via CSSOM (not a style attribute string): allowed by the page's CSP
      item.querySelector(".fill").style.width = pct + "%";
      (s.needs_review ? moreList : list).append(item);
    });
    const undecided = note.suggestions.filter((s) => !decisionOf(s)).length;
    const pending = pendingBySuggestion.size + pendingByCode.length;
    document.getElementById("pending-count").textContent =
      `${pending} decision(s) not submitted · ${undecided} suggestion(s) not decided`;
  }

  function select(index, scroll) {
    if (!note || !note.suggestions.length) return;
    selected = Math.max(0, Math.min(note.suggestions.length - 1, index));
    if (note.suggestions[selected].needs_review) moreBox.open = true;
    document.querySelectorAll("li.sugg").forEach((li) => {
      const on = Number(li.dataset.index) === selected;
      li.classList.toggle("selected", on);
      if (on) li.setAttribute("aria-current", "true"); else li.removeAttribute("aria-current");
    });
    const item = document.querySelector(`li.sugg[data-index="${selected}"] .sugg-main`);
    if (item && document.activeElement !== item) item.focus({ preventScroll: false });
    highlight(selected, scroll);
  }

  function focusSelected() {
    const item = document.querySelector(`li.sugg[data-index="${selected}"] .sugg-main`);
    if (item) item.focus();
  }

  // -- decisions --------------------------------------------------------------------
  function decide(index, action, hit, reason) {
    const s = note.suggestions[index];
    const decision = { suggestion_id: s.suggestion_id, action };
    if (action === "replace") decision.replacement = { system: hit.system, code: hit.code };
    if (reason) decision.reason = reason;
    pendingBySuggestion.set(s.suggestion_id, { decision, hit });
    renderSuggestions();
    renderFinal();
    CS.status(`${s.code}: ${decisionLabel(decisionOf(s))}`);
    focusSelected();
  }

  function undo(index) {
    const s = note.suggestions[index];
    pendingBySuggestion.delete(s.suggestion_id);
    renderSuggestions();
    renderFinal();
    CS.status(`${s.code}: pending decision undone`);
    focusSelected();
  }

  function addCode(hit, reason) {
    pendingByCode = pendingByCode.filter((p) => key(p.decision.system, p.decision.code) !== key(hit.system, hit.code));
    const decision = { system: hit.system, code: hit.code, action: "add" };
    if (reason) decision.reason = reason;
    pendingByCode.push({ decision, hit });
    renderSuggestions();
    renderFinal();
    CS.status(`${hit.code} added`);
  }

  function removeFinal(code) {
    const k = key(code.system, code.code);
    const pendingAdd = pendingByCode.findIndex((p) => p.decision.action === "add" && key(p.decision.system, p.decision.code) === k);
    if (pendingAdd >= 0) pendingByCode.splice(pendingAdd, 1);
    else pendingByCode.push({ decision: { system: code.system, code: code.code, action: "reject" }, hit: code });
    renderSuggestions();
    renderFinal();
    CS.status(`${code.code} removed from the final code set`);
  }

  /* The final set as it will be after submit: the stored set, then the pending decisions replayed with
     the server's rules (accept/add put a code in, reject takes it out, replace swaps). */
  function previewFinal() {
    const current = new Map();
    for (const c of note.final_codes) current.set(key(c.system, c.code), { ...c, pending: false });
    const bySid = new Map(note.suggestions.map((s) => [s.suggestion_id, s]));
    const apply = (d, hit) => {
      const s = d.suggestion_id ? bySid.get(d.suggestion_id) : null;
      const system = s ? s.system : d.system, code = s ? s.code : d.code;
      const k = key(system, code);
      if (d.action === "accept") current.set(k, { system, code, description: s.description, source: "suggestion",
                                                   suggestion_id: s.suggestion_id, pending: true });
      else if (d.action === "add") current.set(k, { system, code, description: hit.description, source: "added", pending: true });
      else if (d.action === "reject") current.delete(k);
      else if (d.action === "replace") {
        current.delete(k);
        current.set(key(hit.system, hit.code), { system: hit.system, code: hit.code, description: hit.description,
                                                 source: "replacement", suggestion_id: s ? s.suggestion_id : null, pending: true });
      }
    };
    for (const p of pendingBySuggestion.values()) apply(p.decision, p.hit);
    for (const p of pendingByCode) apply(p.decision, p.hit);
    return [...current.values()];
  }

  /* The final codes in billing order: the coder's order first (the server's on load), then new codes as the
     server orders them: the suggestion the coding layer marked principal first, then by rank, added codes last;
     diagnoses before procedures. */
  function orderedFinal() {
    const codes = previewFinal();
    const rank = new Map(note.suggestions.map((s, i) => [s.suggestion_id, i]));  // suggestions come best first
    const rankOf = (c, i) => {
      const at = c.suggestion_id ? rank.get(c.suggestion_id) : undefined;
      const s = at !== undefined ? note.suggestions[at] : null;
      return [s && s.principal && c.source !== "added" ? 0 : 1, at !== undefined ? at : 10000 + i];
    };
    const sortKey = (c, i) => {
      const at = order.indexOf(key(c.system, c.code));
      return [c.system === "ICD10CM" ? 0 : 1, at >= 0 ? 0 : 1, at >= 0 ? at : 0, ...rankOf(c, i)];
    };
    return codes.map((c, i) => ({ c, k: sortKey(c, i) }))
      .sort((a, b) => { for (let j = 0; j < a.k.length; j++) if (a.k[j] !== b.k[j]) return a.k[j] - b.k[j]; return 0; })
      .map((x) => x.c);
  }

  function takesPoa() { return note.setting !== "outpatient" && note.setting !== "emergency"; }

  function move(c, step) {
    const codes = orderedFinal().filter((x) => (x.system === "ICD10CM") === (c.system === "ICD10CM"));
    const keys = codes.map((x) => key(x.system, x.code));
    const at = keys.indexOf(key(c.system, c.code));
    const to = at + step;
    if (at < 0 || to < 0 || to >= keys.length) return;
    [keys[at], keys[to]] = [keys[to], keys[at]];
    const others = orderedFinal().map((x) => key(x.system, x.code)).filter((k) => !keys.includes(k));
    order = [...keys, ...others];
    sequenceDirty = true;
    renderFinal();
    const button = finalList.querySelector(`li[data-code="${CSS.escape(c.code)}"] .move-${step < 0 ? "up" : "down"}`);
    if (button && !button.disabled) button.focus();
    else { const li = finalList.querySelector(`li[data-code="${CSS.escape(c.code)}"] .code`); if (li) li.parentElement.focus(); }
    CS.status(`${c.code} moved to position ${to + 1}`);
  }

  function renderFinal() {
    const codes = orderedFinal();
    clear(finalList);
    const counters = { dx: 0, px: 0 };
    const dxCount = codes.filter((c) => c.system === "ICD10CM").length;
    const pxCount = codes.length - dxCount;
    for (const c of codes) {
      const dx = c.system === "ICD10CM";
      const n = dx ? ++counters.dx : ++counters.px;
      const total = dx ? dxCount : pxCount;
      const k = key(c.system, c.code);
      const principal = dx && n === 1;
      const poaSelect = dx && takesPoa() ? el("select", {
        class: "poa", "aria-label": "Present on admission for " + c.code,
        onchange: (e) => { if (e.target.value) poa.set(k, e.target.value); else poa.delete(k); sequenceDirty = true; },
      }, ["", "Y", "N", "U", "W"].map((v) => el("option", { value: v, text: v ? "POA " + v : "POA –" }))) : null;
      if (poaSelect) poaSelect.value = poa.get(k) || "";
      finalList.append(el("li", { class: (c.pending ? "pending" : "") + (principal ? " principal" : ""), tabindex: "0",
                                  dataset: { code: c.code, system: c.system },
                                  onkeydown: (e) => {
                                    if (!e.altKey || (e.key !== "ArrowUp" && e.key !== "ArrowDown")) return;
                                    e.preventDefault(); e.stopPropagation(); move(c, e.key === "ArrowUp" ? -1 : 1);
                                  } },
        el("span", { class: "seq", text: String(n) }),
        el("span", { class: "code", text: c.code }), " ",
        el("span", { class: "sys sys-" + c.system, text: CS.systemLabel(c.system) }), " ",
        principal ? el("span", { class: "badge principal", text: note.setting === "inpatient" ? "principal" : "principal / first-listed" }) : null,
        el("span", { class: "desc", text: c.description || "" }), " ",
        el("span", { class: "small muted", text: c.source + (c.pending ? ", not submitted" : "") }),
        poaSelect,
        el("span", { class: "final-actions" },
          el("button", { type: "button", class: "move-up", "aria-label": "Move " + c.code + " up", disabled: n === 1,
                         onclick: () => move(c, -1) }, "↑"),
          el("button", { type: "button", class: "move-down", "aria-label": "Move " + c.code + " down", disabled: n === total,
                         onclick: () => move(c, 1) }, "↓"),
          el("button", { type: "button", class: "remove", "aria-label": "Remove " + c.code, onclick: () => removeFinal(c) }, "×"))));
    }
    document.getElementById("final-empty").hidden = codes.length > 0;
  }

  function renderFindings() {
    const box = document.getElementById("findings-box");
    const out = document.getElementById("findings");
    clear(out);
    const findings = Array.isArray(note.findings) ? note.findings : [];
    box.hidden = findings.length === 0;
    for (const f of findings) {
      out.append(el("li", { class: "finding sev-" + (f.severity || "warning") },
        el("span", { class: "badge sev", text: f.severity || "note" }), " ",
        f.rule ? el("span", { class: "small muted", text: f.rule + " " }) : null,
        Array.isArray(f.codes) && f.codes.length ? el("span", { class: "code", text: f.codes.join(", ") }) : null,
        el("p", { text: f.message || "" }),
        Array.isArray(f.suggestions) && f.suggestions.length
          ? el("p", { class: "small", text: "Consider: " + f.suggestions.join(", ") }) : null));
    }
  }

  function renderHistory() {
    const out = document.getElementById("history");
    clear(out);
    for (const d of note.decisions) {
      out.append(el("li", { class: "small", text:
        `${d.action} ${d.code}` + (d.replacement ? ` → ${d.replacement.code}` : "") +
        ` by ${d.actor}, ${CS.formatDate(d.created_at)}` + (d.reason ? ` (${d.reason})` : "") }));
    }
  }

  function undecidedNow() { return note.suggestions.filter((s) => !decisionOf(s)).length; }

  /* Submit asks first when suggestions are left undecided: reject them (only when the coder says so), leave
     them undecided, or go back. */
  function submit() {
    const decisions = [...[...pendingBySuggestion.values()].map((p) => p.decision), ...pendingByCode.map((p) => p.decision)];
    if (!decisions.length && !sequenceDirty) { CS.status("Nothing to submit: no new decisions."); return; }
    const left = undecidedNow();
    if (!left) { send(decisions, false); return; }
    returnFocus = document.activeElement;
    document.getElementById("undecided-text").textContent =
      `${left} suggestion(s) have no decision. Reject them all, or submit and leave them undecided?`;
    undecidedDialog.showModal();
    document.getElementById("undecided-back").focus();
  }

  document.getElementById("undecided-reject").addEventListener("click", () => { undecidedDialog.close(); send(null, true); });
  document.getElementById("undecided-leave").addEventListener("click", () => { undecidedDialog.close(); send(null, false); });
  document.getElementById("undecided-back").addEventListener("click", () => undecidedDialog.close());
  undecidedDialog.addEventListener("close", () => { if (returnFocus && document.contains(returnFocus)) returnFocus.focus(); });

  async function send(given, rejectUndecided) {
    const decisions = given || [...[...pendingBySuggestion.values()].map((p) => p.decision), ...pendingByCode.map((p) => p.decision)];
    const body = { decisions };
    if (rejectUndecided) body.reject_undecided = true;
    if (sequenceDirty) {
      body.sequence = orderedFinal().map((c) => {
        const item = { system: c.system, code: c.code };
        const value = poa.get(key(c.system, c.code));
        if (value && c.system === "ICD10CM" && takesPoa()) item.poa = value;
        return item;
      });
    }
    const button = document.getElementById("submit");
    button.disabled = true;
    try {
      const result = await api("/v1/notes/" + encodeURIComponent(noteId) + "/decisions", { method: "POST", body });
      await load();
      const rejected = result.decisions.length - decisions.length;
      CS.status(`Submitted ${decisions.length} decision(s)` + (rejected > 0 ? `, ${rejected} undecided rejected` : "") +
                (body.sequence ? ", code order saved" : "") + ".", "ok");
    } catch (e) {
      CS.status("Not submitted: " + e.message, "error");
    } finally {
      button.disabled = false;
      focusSelected();
    }
  }

  // -- code search dialog -----------------------------------------------------------
  const query = document.getElementById("code-query");
  const search = CodeSearch.attach(query, document.getElementById("code-results"), (hit) => chooseHit(hit));

  function openSearch(mode, index) {
    if (!note) return;
    if (mode === "replace" && !note.suggestions.length) return;
    searchMode = { mode, index };
    returnFocus = document.activeElement;
    const s = mode === "replace" ? note.suggestions[index] : null;
    document.getElementById("search-title").textContent = mode === "replace" ? "Replace " + s.code : "Add a missed code";
    document.getElementById("search-context").textContent = s ? s.description : "Search every loaded code set by code or words.";
    search.reset();
    reasonInput.value = "";
    searchDialog.showModal();
    query.focus();
  }

  function chooseHit(hit) {
    if (!searchMode || !hit) return;
    const { mode, index } = searchMode;
    const reason = reasonInput.value.trim();
    searchDialog.close();
    if (mode === "replace") decide(index, "replace", hit, reason);
    else addCode(hit, reason);
  }

  document.getElementById("search-form").addEventListener("submit", (e) => {
    e.preventDefault();
    chooseHit(search.current());
  });
  reasonInput.addEventListener("keydown", (e) => {
    if (e.key === "Enter") { e.preventDefault(); chooseHit(search.current()); }
  });
  document.getElementById("search-cancel").addEventListener("click", () => searchDialog.close());
  // one Esc closes the dialog (a search box would only clear itself, and the next shortcut would be typed into it)
  searchDialog.addEventListener("keydown", (e) => {
    if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); searchDialog.close(); }
  });
  searchDialog.addEventListener("close", () => {
    searchMode = null;
    if (returnFocus && document.contains(returnFocus)) returnFocus.focus(); else focusSelected();
  });

  // -- keyboard ----------------------------------------------------------------------
  function openHelp() { returnFocus = document.activeElement; helpDialog.showModal(); }
  helpDialog.addEventListener("close", () => { if (returnFocus && document.contains(returnFocus)) returnFocus.focus(); });
  document.getElementById("help-button").addEventListener("click", openHelp);
  document.getElementById("add-code").addEventListener("click", () => openSearch("add"));
  document.getElementById("submit").addEventListener("click", submit);

  document.addEventListener("keydown", (e) => {
    if (!note || e.ctrlKey || e.metaKey || e.altKey || CS.isTyping(e)) return;
    const has = note.suggestions.length > 0;
    switch (e.key) {
      case "j": case "ArrowDown": if (has) { e.preventDefault(); select(selected + 1, true); } break;
      case "k": case "ArrowUp": if (has) { e.preventDefault(); select(selected - 1, true); } break;
      case "a": if (has) { e.preventDefault(); decide(selected, "accept"); } break;
      case "r": if (has) { e.preventDefault(); decide(selected, "reject"); } break;
      case "e": if (has) { e.preventDefault(); openSearch("replace", selected); } break;
      case "u": if (has) { e.preventDefault(); undo(selected); } break;
      case "n": e.preventDefault(); openSearch("add"); break;
      case "s": e.preventDefault(); submit(); break;
      case "?": e.preventDefault(); openHelp(); break;
      default: break;
    }
  });

  load().then(() => focusSelected());
})();
