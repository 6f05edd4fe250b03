// Renders /openapi.yaml with Swagger UI (vendored from swagger-ui-dist, served by the service).
// The API key is the one the main page keeps in this tab's sessionStorage; it goes only to this origin.
const key = sessionStorage.getItem('reward-server-key');
if (document.querySelector('meta[name="api-key"]').content === 'required' && !key) {
  document.getElementById('key-needed').hidden = false;
} else {
  window.ui = window.SwaggerUIBundle({
    url: '/openapi.yaml',
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: null,
    // "Try it out" calls this service, whatever server openapi.yaml lists.
    requestInterceptor: (req) => {
      const u = new URL(req.url, location.href);
      req.url = location.origin + u.pathname + u.search;
      if (key) req.headers.Authorization = `Bearer ${key}`;
      return req;
    },
  });
}
