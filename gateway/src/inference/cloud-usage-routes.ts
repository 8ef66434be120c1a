import { Hono } from 'hono';
import type { ApiEnv } from '../api/api-env.js';
import type { CloudBudget } from './cloud-budget.js';

/** `GET /api/cloud/usage`: each plugin's page-started cloud calls, tokens and refusals (token only). */
export function cloudUsageRoutes(budget: CloudBudget) {
  return new Hono<ApiEnv>().get('/usage', (c) => c.json({ plugins: budget.usage() }));
}
