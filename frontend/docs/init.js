// Starts Swagger UI for /docs. Which documents it offers comes from the gateway
// (/docs/swagger-config.json: `urls` and the one shown first), so this file holds only how the
// page behaves. "Try it out" calls the same origin, i.e. the gateway's public /api paths.
/* global SwaggerUIBundle, SwaggerUIStandalonePreset */
window.ui = SwaggerUIBundle({
  configUrl: '/docs/swagger-config.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  plugins: [SwaggerUIBundle.plugins.DownloadUrl],
  layout: 'StandaloneLayout',
  // The page works offline: no call to the public validator.
  validatorUrl: null,
  // The token stays in this page's memory, as the web app keeps its own.
  persistAuthorization: false,
  displayRequestDuration: true,
  tryItOutEnabled: false,
});
