// Starts Swagger UI on /ogc/openapi?f=html (ogc/templates/openapi/swagger.html): pygeoapi's
// inline start, moved to a file so that a Content-Security-Policy with `script-src 'self'`
// allows it. SwaggerUIBundle and SwaggerUIStandalonePreset come from the vendored files.
"use strict";

(function () {
  const element = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: element.dataset.openapi,
    domNode: element,
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "StandaloneLayout",
  });
})();
