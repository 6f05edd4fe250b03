import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { projectRoot } from '../../util/project-root.js';

/** GET /openapi.yaml: the API description, read once at startup. */
export async function openapiRoute(app: FastifyInstance) {
  const spec = fs.readFileSync(path.join(projectRoot(), 'openapi.yaml'), 'utf8');
  app.get('/openapi.yaml', async (_request, reply) => reply.type('application/yaml').send(spec));
}
