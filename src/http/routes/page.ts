import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { projectRoot } from '../../util/project-root.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A Content-Security-Policy for this route instead of the API's `default-src 'none'` (security-headers.ts). */
    csp?: string;
    /** Served without an API key: the page itself, which asks for one before calling the API. */
    public?: boolean;
  }
}

/**
 * The page's policy: its own scripts, styles and API calls only (no inline script, nothing
 * from elsewhere). Swagger UI sets element styles from script, which style-src does not govern,
 * and draws its icons as data: images.
 */
export const PAGE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml' };

/**
 * GET / (a page to try /score, /compare and /rank and watch the rewards), GET /docs (the API
 * description rendered by Swagger UI) and their static files under /ui/: files from web/ and
 * swagger-ui-dist, read once at startup. No build step: the page is plain HTML, CSS and an ES module.
 */
export async function pageRoutes(app: FastifyInstance, opts: { authRequired: boolean }) {
  const web = path.join(projectRoot(), 'web');
  const swagger = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  const files = new Map<string, { body: Buffer; type: string }>();
  const add = (url: string, file: string) => files.set(url, { body: fs.readFileSync(file), type: TYPES[path.extname(file)]! });
  add('/', path.join(web, 'index.html'));
  add('/docs', path.join(web, 'docs.html'));
  // The pages ask for a key before their first call when the server needs one (no 401 to learn it).
  if (opts.authRequired) {
    for (const url of ['/', '/docs']) files.get(url)!.body = Buffer.from(files.get(url)!.body.toString('utf8').replace('name="api-key" content="optional"', 'name="api-key" content="required"'));
  }
  for (const f of fs.readdirSync(web)) if (f !== 'index.html' && f !== 'docs.html') add(`/ui/${f}`, path.join(web, f));
  add('/ui/swagger-ui.css', path.join(swagger, 'swagger-ui.css'));
  add('/ui/swagger-ui-bundle.js', path.join(swagger, 'swagger-ui-bundle.js'));
  for (const [url, f] of files) {
    app.get(url, { config: { csp: PAGE_CSP, public: true } }, async (_request, reply) => reply.type(f.type).send(f.body));
  }
}
