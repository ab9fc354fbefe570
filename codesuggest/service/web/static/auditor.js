/* The auditor's queue: draw a reproducible sample, review each suggestion with its evidence and the coder's
   decision, record agree/disagree (+ corrected code), and a summary with an inline SVG chart. */
"use strict";
(() => {
  if (!CS.requireKey()) return;
  const { el, api, clear } = CS;
  const SVG = "http://www.w3.org/2000/svg"; // an XML namespace name, not fetched
  const sampleList = document.getElementById("sample");
  const reviewBox = document.getElementById("review");
  let items = [];
  let current = null;
  let corrected = null;
  const reviewed = new Map(); // suggestion_id -> verdict

  // -- sample ------------------------------------------------------------------------
  document.getElementById("sample-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const params = new URLSearchParams({
      strategy: document.getElementById("strategy").value, size: document.getElementById("size").value,
    });
    const seed = document.getElementById("seed").value.trim();
    if (seed) params.set("seed", seed);
    let sample;
    try { sample = await api("/v1/audit/samples?" + params); } catch (err) { CS.status(err.message, "error"); return; }
    items = sample.items;
    document.getElementById("seed").value = sample.seed;
    document.getElementById("sample-info").textContent =
      `${sample.size} of ${sample.population} suggestion(s), strategy ${sample.strategy}, seed ${sample.seed}`;
    renderSample();
    if (items.length) open(0);
  });

  function renderSample() {
    clear(sampleList);
    items.forEach((it, i) => {
      const verdict = reviewed.get(it.suggestion_id);
      sampleList.append(el("li", { class: current === i ? "selected" : "" },
        el("button", { type: "button", class: "sample-item", "aria-current": current === i ? "true" : null,
                       onclick: () => open(i), dataset: { code: it.code, note: it.note_id } },
          el("span", { class: "code", text: it.code }), " ",
          el("span", { class: "pct", text: CS.percent(it.confidence) }), " ",
          it.needs_review ? el("span", { class: "badge review", text: "needs review" }) : null, " ",
          el("span", { class: "badge act-" + (it.latest_action || "none"), text: it.latest_action || "not decided" }),
          verdict ? el("span", { class: "badge verdict-" + verdict, text: "reviewed: " + verdict }) : null,
          el("span", { class: "desc small", text: it.description + " · note " + it.note_id.slice(0, 8) }))));
    });
  }

  // -- review ------------------------------------------------------------------------
  async function open(i) {
    current = i;
    const it = items[i];
    renderSample();
    let note;
    try { note = await api("/v1/notes/" + encodeURIComponent(it.note_id)); } catch (err) { CS.status(err.message, "error"); return; }
    if (current !== i) return;
    document.getElementById("review-empty").hidden = true;
    reviewBox.closest(".card").scrollTop = 0;
    reviewBox.hidden = false;
    document.getElementById("rv-code").textContent = it.code;
    document.getElementById("rv-desc").textContent = it.description;
    document.getElementById("rv-conf").textContent = "confidence " + CS.percent(it.confidence) + (it.needs_review ? " (needs review)" : "");
    document.getElementById("rv-model").textContent = it.model_version;
    const link = document.getElementById("rv-note-link");
    link.textContent = it.note_id;
    link.href = "/coder/notes/" + encodeURIComponent(it.note_id);

    const suggestion = note.suggestions.find((s) => s.suggestion_id === it.suggestion_id);
    renderEvidence(note.text, suggestion ? suggestion.evidence : []);
    const decisions = note.decisions.filter((d) => d.suggestion_id === it.suggestion_id);
    const last = decisions[decisions.length - 1];
    document.getElementById("rv-decision").textContent = last
      ? `${last.action}${last.replacement ? " → " + last.replacement.code + " " + last.replacement.description : ""} by ${last.actor}`
        + (last.reason ? ` (“${last.reason}”)` : "") + `, ${CS.formatDate(last.created_at)}`
      : "No decision recorded yet.";
    document.getElementById("review-form").reset();
    setCorrected(null);
    correctedSearch.reset();
  }

  /* The sentence(s) around each evidence span, the span highlighted. */
  function renderEvidence(text, evidence) {
    const box = document.getElementById("rv-evidence");
    clear(box);
    if (!evidence.length) { box.append(el("span", { class: "muted", text: "No evidence spans." })); return; }
    for (const ev of evidence) {
      const from = Math.max(0, ev.start - 120), to = Math.min(text.length, ev.end + 120);
      const negated = ev.assertion === "negated", muted = !negated && ev.assertion !== "present";
      box.append(el("p", {},
        from > 0 ? "…" : "", text.slice(from, ev.start),
        el("mark", { class: "ev sys-" + items[current].system + (negated ? " as-negated" : "") + (muted ? " as-muted" : ""),
                     text: text.slice(ev.start, ev.end) }),
        text.slice(ev.end, to), to < text.length ? "…" : "", " ",
        el("span", { class: "badge as-" + ev.assertion, text: ev.assertion }),
        ev.section ? el("span", { class: "small muted", text: " · " + ev.section }) : null));
    }
  }

  function setCorrected(hit) {
    corrected = hit;
    document.getElementById("corrected-chosen").textContent = hit ? `${hit.code} ${hit.description}` : "none";
  }
  const correctedSearch = CodeSearch.attach(
    document.getElementById("corrected-query"), document.getElementById("corrected-results"),
    (hit) => { setCorrected(hit); correctedSearch.reset(); document.getElementById("corrected-query").value = hit.code;
               const disagree = document.querySelector("input[name=verdict][value=disagree]");
               disagree.checked = true; });

  document.getElementById("review-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (current === null) return;
    const it = items[current];
    const verdict = (document.querySelector("input[name=verdict]:checked") || {}).value;
    if (!verdict) { CS.status("Choose agree or disagree.", "error"); return; }
    const body = { note_id: it.note_id, suggestion_id: it.suggestion_id, verdict };
    if (verdict === "disagree" && corrected) body.corrected = { system: corrected.system, code: corrected.code };
    const comment = document.getElementById("comment").value.trim();
    if (comment) body.comment = comment;
    try {
      await api("/v1/audit/reviews", { method: "POST", body });
    } catch (err) { CS.status("Review not recorded: " + err.message, "error"); return; }
    reviewed.set(it.suggestion_id, verdict);
    CS.status(`Review recorded: ${verdict} on ${it.code}.`, "ok");
    loadStats();
    if (current + 1 < items.length) open(current + 1); else renderSample();
  });

  // -- stats and chart -------------------------------------------------------------------
  async function loadStats() {
    let stats;
    try { stats = await api("/v1/audit/stats?code_limit=20"); } catch (err) { CS.status(err.message, "error"); return; }
    const body = document.querySelector("#stats-table tbody");
    clear(body);
    for (const r of stats.by_system) {
      body.append(el("tr", {}, el("th", { scope: "row", text: CS.systemLabel(r.system) }),
        el("td", { text: `${r.decided} of ${r.suggested}` }),
        rateCell(r.acceptance_rate, r.accepted), rateCell(r.override_rate, r.replaced),
        rateCell(r.rejection_rate, r.rejected),
        el("td", { text: r.added })));
    }
    const a = stats.agreement;
    document.getElementById("agreement").textContent =
      `Audit agreement: ${CS.percent(a.agreement_rate)} (${a.agree} agree, ${a.disagree} disagree of ${a.reviews} review(s))`;
    renderChart(stats);
  }

  function rateCell(rate, count) {
    return el("td", {}, el("span", { class: "rate", text: CS.percent(rate) }), el("span", { class: "count small muted", text: count }));
  }

  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  /* One stacked bar per system (accepted / overridden / rejected share of decided suggestions), and one
     for audit agreement. */
  function renderChart(stats) {
    const box = document.getElementById("chart");
    clear(box);
    const rows = stats.by_system.filter((r) => r.decided > 0).map((r) => ({
      label: CS.systemLabel(r.system),
      parts: [["accepted", r.accepted / r.decided], ["overridden", r.replaced / r.decided], ["rejected", r.rejected / r.decided]],
    }));
    const a = stats.agreement;
    if (a.reviews > 0) rows.push({ label: "Audit", parts: [["agree", a.agree / a.reviews], ["disagree", a.disagree / a.reviews]] });
    if (!rows.length) { box.append(el("p", { class: "muted", text: "No decisions or reviews yet." })); return; }
    const W = 360, left = 86, barW = W - left - 8, rowH = 28, H = rows.length * rowH + 4;
    const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, width: "100%", role: "img", "aria-labelledby": "chart-title" });
    chart.append(svg("title", { id: "chart-title" }, "Share of decided suggestions accepted, overridden and rejected, by system; audit agreement"));
    rows.forEach((row, i) => {
      const y = i * rowH + 4;
      chart.append(svg("text", { x: left - 6, y: y + 15, "text-anchor": "end", class: "chart-label" }, row.label));
      let x = left;
      for (const [name, share] of row.parts) {
        const w = share * barW;
        if (w <= 0) continue;
        const rect = svg("rect", { x, y, width: w, height: rowH - 8, class: "seg-" + name });
        rect.append(svg("title", {}, `${row.label}: ${name} ${CS.percent(share)}`));
        chart.append(rect);
        if (w > 30) chart.append(svg("text", { x: x + w / 2, y: y + 15, "text-anchor": "middle", class: "seg-text" }, CS.percent(share)));
        x += w;
      }
    });
    box.append(chart);
    box.append(el("ul", { class: "chart-legend-html" },
      [["accepted", "accepted / agree"], ["overridden", "overridden (replaced)"], ["rejected", "rejected / disagree"]]
        .map(([name, label]) => el("li", {}, el("span", { class: "swatch seg-" + name, "aria-hidden": "true" }), label))));
  }

  document.getElementById("refresh-stats").addEventListener("click", loadStats);
  loadStats();
})();
