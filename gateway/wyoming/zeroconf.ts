/**
 * Advertises the Wyoming server as `<name>._wyoming._tcp.local` over mDNS, which Home
 * Assistant's wyoming integration browses for (its manifest's zeroconf entry), as
 * wyoming/zeroconf.py does for the Python servers. @homebridge/ciao does the RFC 6762/6763
 * work: probing for a unique name (a clash becomes "name (2)"), announcing, answering
 * queries on every interface, and goodbye packets on stop.
 *
 * Bound to one address (VOXGATE_HOST), the advertisement names only that address and is
 * sent only on its interface: nobody is pointed at an address the server does not listen on.
 */
import { isIP } from 'node:net';
import os from 'node:os';
import ciao, { type CiaoService, type Responder } from '@homebridge/ciao';
import type { Logger } from '../logger.ts';

export const WYOMING_SERVICE_TYPE = 'wyoming';
/** Goodbye packets on stop; a broken network must not hold shutdown longer. */
const GOODBYE_TIMEOUT_MS = 2_000;

export interface ZeroconfOptions {
  /** Instance name; unset: `voxgate-<host name>`. */
  name?: string;
  port: number;
  /** The address the server is bound to (0.0.0.0 / :: = every interface). */
  host: string;
  logger: Logger;
}

export interface ZeroconfAdvertisement {
  /** The name as finally advertised (after any conflict renaming); resolves when announced. */
  readonly announced: Promise<string>;
  stop(): Promise<void>;
}

/** A host-name-safe label: letters, digits and hyphens. */
export function defaultInstanceName(hostname = os.hostname()): string {
  const label = hostname.split('.')[0]!.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
  return `voxgate-${label || 'gateway'}`.slice(0, 63);
}

const isWildcard = (host: string) => host === '0.0.0.0' || host === '::' || host === '';

export function advertiseWyoming(options: ZeroconfOptions): ZeroconfAdvertisement {
  const name = options.name ?? defaultInstanceName();
  const hostname = name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '') || 'voxgate';
  const boundTo = !isWildcard(options.host) && isIP(options.host) ? options.host : undefined;
  const log = options.logger;
  const responder: Responder = ciao.getResponder(boundTo ? { interface: boundTo } : undefined);
  const service: CiaoService = responder.createService({
    name,
    type: WYOMING_SERVICE_TYPE,
    port: options.port,
    hostname,
    ...(boundTo ? { restrictedAddresses: [boundTo], disabledIpv6: isIP(boundTo) === 4 } : {}),
  });
  service.on('name-change', (next: string) => log.info({ name: next }, 'zeroconf: the name was taken on the network; advertising as another'));
  const announced = service.advertise().then(
    () => {
      log.info({ service: service.getFQDN(), port: options.port }, 'zeroconf: Wyoming server advertised');
      return service.getFQDN();
    },
    (err: unknown) => {
      log.warn({ err: (err as Error).message }, 'zeroconf: advertising failed (add the Wyoming integration by host and port instead)');
      throw err;
    },
  );
  announced.catch(() => {}); // logged above; the server works without it

  let stopped: Promise<void> | undefined;
  return {
    announced,
    stop() {
      stopped ??= (async () => {
        const goodbye = service.destroy().then(() => responder.shutdown());
        const timeout = new Promise<void>((resolve) => setTimeout(resolve, GOODBYE_TIMEOUT_MS).unref());
        await Promise.race([goodbye.catch((err: unknown) => log.debug({ err: (err as Error).message }, 'zeroconf: stop failed')), timeout]);
      })();
      return stopped;
    },
  };
}
