/* kaigi: starts the vendored Swagger UI (swagger-ui-dist 5.36.0 from npm, Apache-2.0, see
   swagger-ui.LICENSE) on /api/docs. A file of its own, not an inline script, so the page
   keeps the site's Content-Security-Policy (script-src 'self'). */
document.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-openapi"),
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset]
  });
});
