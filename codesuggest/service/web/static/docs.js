// Swagger UI for /docs, from the assets the service ships (no CDN; a script file, as the CSP allows no inline script).
"use strict";
(function () {
  const target = document.getElementById("swagger-ui");
  window.ui = window.SwaggerUIBundle({
    url: target.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    presets: [window.SwaggerUIBundle.presets.apis, window.SwaggerUIBundle.SwaggerUIStandalonePreset],
  });
})();
