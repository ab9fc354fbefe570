"use strict";
(() => {
  const form = document.getElementById("signin-form");
  const input = document.getElementById("api-key");
  const error = document.getElementById("signin-error");
  input.focus();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const key = input.value.trim();
    const dest = form.querySelector("input[name=dest]:checked").value;
    if (!key) { error.textContent = "Enter an API key."; return; }
    try {
      // The coder's and auditor's pages both read notes: a key that may do neither is refused here.
      await CS.api("/v1/notes?limit=1", { key });
      if (dest === "/auditor") await CS.api("/v1/audit/stats?code_limit=1", { key });
    } catch (e) {
      error.textContent = e.status === 401 ? "This key is not valid (or was revoked)."
        : e.status === 403 ? "This key's role may not open that page: " + e.message
        : "Could not reach the service: " + e.message;
      return;
    }
    CS.setKey(key);
    input.value = "";
    window.location.assign(dest);
  });
})();
