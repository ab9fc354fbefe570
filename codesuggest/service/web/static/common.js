/* Shared by every page: the API key (sessionStorage only), fetch with the Bearer key, and a small DOM
   builder that sets text with textContent only: no string from the API is ever parsed as HTML. */
"use strict";

const CS = (() => {
  const KEY = "codesuggest.apiKey";

  function getKey() { return sessionStorage.getItem(KEY); }
  function setKey(value) { sessionStorage.setItem(KEY, value); }
  function clearKey() { sessionStorage.removeItem(KEY); }

  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  async function api(path, options = {}) {
    const key = options.key || getKey();
    const headers = { Accept: "application/json" };
    if (key) headers.Authorization = "Bearer " + key;
    const init = { method: options.method || "GET", headers, credentials: "omit", cache: "no-store" };
    if (options.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(options.body);
    }
    const response = await fetch(path, init);
    let data = null;
    try { data = await response.json(); } catch (_) { data = null; }
    if (!response.ok) {
      const message = data && data.error ? data.error.message : response.status + " " + response.statusText;
      if (response.status === 401 && !options.key) {
        clearKey();
        window.location.assign("/");
      }
      throw new ApiError(response.status, message);
    }
    return data;
  }

  /* el("li", {class: "x", dataset: {id: 1}, onclick: f}, "text", child, ...) */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = String(value);
      else if (name === "dataset") Object.assign(node.dataset, value);
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  let statusTimer = null;
  function status(message, kind) {
    const box = document.getElementById("status");
    if (!box) return;
    box.textContent = message || "";
    box.className = "status" + (message ? " show " + (kind || "info") : "");
    clearTimeout(statusTimer);
    if (message && kind !== "error") statusTimer = setTimeout(() => status(""), 6000);
  }

  function percent(x) { return x === null || x === undefined ? "–" : Math.round(x * 100) + "%"; }

  function systemLabel(system) {
    return { ICD10CM: "ICD-10-CM", ICD10PCS: "ICD-10-PCS", CPT: "CPT" }[system] || system;
  }

  function requireKey() {
    if (!getKey()) { window.location.assign("/"); return false; }
    return true;
  }

  function formatDate(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    return isNaN(d) ? String(iso) : d.toLocaleString();
  }

  /* True when a key press should go to the element (typing), not to page shortcuts. */
  function isTyping(event) {
    const t = event.target;
    if (!(t instanceof Element)) return false;
    return t.closest("input, textarea, select, [contenteditable=''], [contenteditable='true'], dialog[open]") !== null;
  }

  document.addEventListener("DOMContentLoaded", () => {
    const out = document.getElementById("sign-out");
    if (out) out.addEventListener("click", () => { clearKey(); window.location.assign("/"); });
  });

  return { getKey, setKey, clearKey, api, ApiError, el, clear, status, percent, systemLabel, requireKey,
           formatDate, isTyping };
})();
