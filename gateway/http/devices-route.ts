/**
 * GET /api/devices: registered devices with online status and last turn. With an API key:
 * every device. With a device's own credentials (`Device-Id` + `Authorization: Bearer
 * <device token>`, what the console signs in with): only that device, so a device token
 * never reveals other devices' conversations.
 */
import type { ConnectedDevice } from '../session/session-hub.ts';
import type { DeviceRecord, TurnRecord } from '../store/index.ts';
import type { ApiGuard } from './api-guard.ts';
import { sendJson, type HttpServer } from './http-server.ts';

export interface DeviceSources {
  devices: { list(): DeviceRecord[]; get(id: string): DeviceRecord | undefined };
  turns: { listTurns(deviceId: string, options?: { limit?: number }): TurnRecord[] };
  connectedDevices(): ConnectedDevice[];
}

const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

function describeTurn(turn: TurnRecord | undefined) {
  if (!turn) return null;
  return {
    turn: turn.turn,
    kind: turn.kind,
    started_at: iso(turn.startedAt),
    ended_at: iso(turn.endedAt),
    transcript: turn.transcript,
    reply: turn.reply,
    outcome: turn.outcome,
    error_code: turn.errorCode ?? null,
    timings: turn.timings,
  };
}

export function registerDevicesRoute(http: HttpServer, deps: { guard: ApiGuard; sources: DeviceSources }): void {
  const { guard, sources } = deps;
  http.route('GET', '/api/devices', (req, res) => {
    const caller = guard.apiKeyOrDevice(req);
    const online = new Map(sources.connectedDevices().map((d) => [d.deviceId, d]));
    const records =
      caller.kind === 'apikey' ? sources.devices.list() : [sources.devices.get(caller.deviceId)].filter((d): d is DeviceRecord => d !== undefined);
    const devices = records.map((device) => {
      const session = online.get(device.id);
      return {
        id: device.id,
        name: device.name,
        online: session !== undefined,
        transport: session?.transport ?? null,
        state: session?.state ?? null,
        connected_since: iso(session?.since),
        last_seen_at: iso(device.lastSeenAt),
        last_turn: describeTurn(sources.turns.listTurns(device.id, { limit: 1 })[0]),
      };
    });
    sendJson(res, 200, { devices });
  });
}
