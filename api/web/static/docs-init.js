// Renders the contract served at /api/v1/openapi.json; "Try it out" calls this same server.
window.ui = SwaggerUIBundle({
  url: "/api/v1/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  tryItOutEnabled: false,
  displayRequestDuration: true,
  validatorUrl: null,
});
