import type { Lifecycle } from '../../core/lifecycle.js';
import type { RequestSchemas } from '../schemas.js';

/** What every operation route is registered with. */
export interface RouteOptions {
  lifecycle: Lifecycle;
  schemas: RequestSchemas;
}
