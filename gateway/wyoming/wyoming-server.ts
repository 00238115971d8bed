/**
 * The Wyoming server: Home Assistant's speech protocol on TCP, so its voice pipelines can
 * use voxgate's recognizers and voices. It listens on `wyoming.port` bound to the gateway's
 * host as soon as the gateway starts (before the speech engines have loaded: `describe` is
 * answered at once, with what is on disk), advertises itself over mDNS, and serves
 * transcriptions and syntheses once `attach()` hands it the engines.
 *
 * Wyoming has no authentication: anyone who reaches the port may use the engines, within
 * `maxJobs` at once. `wyoming.allow` restricts clients to address ranges; refused clients are
 * disconnected at once and logged once per address.
 *
 * A port that cannot be bound (another Wyoming server on 10300, say) does not stop the
 * gateway: it is logged and reported by health, and the wearables are served as usual.
 */
import { createServer, isIPv4, type Server, type Socket } from 'node:net';
import type { Logger } from '../logger.ts';
import type { ProviderHealth } from '../providers.ts';
import { JobSlots } from './job-slots.ts';
import { CatalogBuilder, type AttachedEngines, type CatalogSource } from './wyoming-catalog.ts';
import { allowListOf, type WyomingConfig } from './wyoming-config.ts';
import { WyomingConnection } from './wyoming-connection.ts';
import { infoData } from './wyoming-info.ts';
import { advertiseWyoming, type ZeroconfAdvertisement } from './zeroconf.ts';

/** Refused addresses remembered for log-once; beyond this a scan is not worth more memory. */
const MAX_REMEMBERED_REFUSALS = 1_000;

export interface WyomingServerOptions {
  settings: WyomingConfig;
  /** The gateway's bind address (VOXGATE_HOST). */
  host: string;
  catalog: CatalogSource;
  logger: Logger;
}

export interface WyomingServer {
  /** The bound port; null when the server is off or could not listen. */
  readonly port: number | null;
  /** Set once advertising starts (absent when zeroconf is off or the server is not listening). */
  readonly zeroconf?: ZeroconfAdvertisement;
  /** Hands over the speech engines once they are built; until then requests get `not_ready`. */
  attach(engines: AttachedEngines): void;
  /** The info event's data as `describe` answers it now. */
  info(): Record<string, unknown>;
  health(): ProviderHealth;
  close(): Promise<void>;
}

/** `::ffff:192.168.1.5` (an IPv4 client on a dual-stack socket) is checked as 192.168.1.5. */
function clientAddress(socket: Socket): { address: string; family: 'ipv4' | 'ipv6' } | undefined {
  const raw = socket.remoteAddress;
  if (!raw) return undefined;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(raw)?.[1];
  const address = mapped ?? raw;
  return { address, family: isIPv4(address) ? 'ipv4' : 'ipv6' };
}

export async function startWyomingServer(options: WyomingServerOptions): Promise<WyomingServer> {
  const { settings, logger } = options;
  const log = logger.child({ component: 'wyoming' });
  const builder = new CatalogBuilder(options.catalog);
  let engines: AttachedEngines | undefined;
  const info = () => infoData(builder.build(engines));
  const off = (detail: string, ready: boolean): WyomingServer => ({
    port: null,
    attach: (e) => void (engines = e),
    info,
    health: () => ({ name: 'wyoming', ready, detail }),
    close: async () => {},
  });
  if (settings.port === null) return off('off (wyoming.port)', true);

  const allow = settings.allow.length > 0 ? allowListOf(settings.allow) : undefined;
  const slots = new JobSlots(settings.maxJobs);
  const sockets = new Set<Socket>();
  const refused = new Set<string>();
  const server: Server = createServer({ pauseOnConnect: false });
  server.maxConnections = settings.maxConnections;
  server.on('connection', (socket) => {
    const client = clientAddress(socket);
    if (allow && (!client || !allow.check(client.address, client.family))) {
      if (client && !refused.has(client.address) && refused.size < MAX_REMEMBERED_REFUSALS) {
        refused.add(client.address);
        log.warn({ client: client.address }, 'wyoming client refused: not in wyoming.allow');
      }
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    new WyomingConnection({
      socket,
      info,
      catalog: () => builder.build(engines),
      engines: () => engines,
      slots,
      limits: settings,
      logger: log.child({ client: client?.address }),
    });
  });

  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(settings.port!, options.host, () => {
        server.off('error', reject);
        resolve((server.address() as { port: number }).port);
      });
    });
  } catch (err) {
    const message = `cannot listen on ${options.host}:${settings.port}: ${(err as Error).message}`;
    log.error({ err: (err as Error).message }, `Wyoming server not started: ${message} (set VOXGATE_WYOMING_PORT to another port or off)`);
    return off(message, false);
  }
  server.on('error', (err) => log.error({ err: err.message }, 'wyoming server error'));
  log.info({ host: options.host, port, allow: settings.allow.length > 0 ? settings.allow : 'anyone', maxJobs: settings.maxJobs }, 'Wyoming server listening');

  let closing: Promise<void> | undefined;
  const zeroconf = settings.zeroconf ? advertiseWyoming({ name: settings.zeroconfName, port, host: options.host, logger: log }) : undefined;

  return {
    port,
    zeroconf,
    attach(e) {
      engines = e;
    },
    info,
    health: () => ({
      name: 'wyoming',
      ready: true,
      detail: `port ${port}, ${slots.active}/${slots.limit} requests, ${sockets.size} connections${engines ? '' : ', engines loading'}`,
    }),
    close() {
      closing ??= (async () => {
        await zeroconf?.stop();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const socket of sockets) socket.destroy();
        await closed;
      })();
      return closing;
    },
  };
}
