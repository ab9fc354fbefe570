// ReDoc for /redoc, from the assets the service ships. ReDoc writes its styles into <style> elements: they carry
// this response's nonce, the only thing the CSP adds to the other pages' (no 'unsafe-inline').
"use strict";
(function () {
  const target = document.getElementById("redoc");
  window.Redoc.init(target.dataset.specUrl, { nonce: target.dataset.styleNonce }, target);
})();
