/**
 * What /health tells whom. Anyone who can reach the port (a load balancer, a container probe)
 * gets the overall status and whether each part is ready; which devices are connected, in
 * what state, and the engines' details (the local LLM's URL, model paths) need an API key.
 */
import type { IncomingMessage } from 'node:http';
import type { HealthReport } from './health.ts';
import { HttpError } from './http-errors.ts';
import { bearerToken, requireApiKey, type ApiKeyVerifier } from './request-auth.ts';

/** The readiness of one part, without its details. */
export interface PartReadiness {
  name: string;
  ready: boolean;
}

export interface PublicHealthReport {
  status: HealthReport['status'];
  uptime_seconds: number;
  broker: PartReadiness;
  database: PartReadiness;
  engines: PartReadiness[];
  /** First-start model downloads: which model, how far (no URLs or errors). */
  models?: { state: string; models: Array<{ name: string; state: string; percent?: number }> };
  /** Says how to get the rest. */
  details: string;
}

const readiness = ({ name, ready }: PartReadiness): PartReadiness => ({ name, ready });

export function publicHealth(report: HealthReport): PublicHealthReport {
  return {
    status: report.status,
    uptime_seconds: report.uptime_seconds,
    broker: readiness(report.broker),
    database: readiness(report.database),
    engines: report.engines.map(readiness),
    ...(report.models
      ? { models: { state: report.models.state, models: report.models.models.map(({ name, state, percent }) => ({ name, state, ...(percent !== undefined ? { percent } : {}) })) } }
      : {}),
    details: 'send "Authorization: Bearer <API key>" for devices and engine details',
  };
}

/**
 * True when the request carries a valid API key; false when it carries none. A request with a
 * wrong or revoked key is refused (401), not quietly given the public view.
 */
export function healthDetailsAllowed(req: IncomingMessage, keys: ApiKeyVerifier): boolean {
  if (bearerToken(req) === undefined && req.headers.authorization === undefined) return false;
  try {
    requireApiKey(req, keys);
  } catch (err) {
    if (err instanceof HttpError) throw err;
    // The key store cannot answer (database down): health must still answer, with what is public.
    return false;
  }
  return true;
}
