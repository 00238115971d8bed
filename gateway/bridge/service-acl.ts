/**
 * What a service account (Home Assistant, `voxgate service add homeassistant`) may do on the
 * embedded broker: everything Home Assistant's MQTT integration needs, and nothing of the
 * wearables' own topics.
 *
 *   subscribe: <discovery>/#, <bridge>/#, <devices>/gateway/state, <devices>/+/availability, shared topics
 *   publish:   <discovery>/# (its birth/will, other integrations' configs), the bridge's command
 *              topics (<bridge>/+/{notify,stop,mute}/set), the conversation response, shared topics
 *
 * A subscription is allowed only when every topic it could match is allowed, so `#` or
 * `voxgate/#` (which would reach the devices' audio and control topics) are refused.
 */
import { topicMatches, type AuthenticateService, type ServiceAccount } from '../transport/index.ts';
import type { Logger } from '../logger.ts';
import { filtersIntersect, filterWithin, type BridgeTopics } from './bridge-topics.ts';

export interface ServiceAclOptions {
  topics: BridgeTopics;
  /** The device prefix (`voxgate`). */
  devicePrefix: string;
  /** Extra filters services may use (config `bridge.sharedTopics`). */
  sharedTopics: readonly string[];
}

export interface ServiceAcl {
  mayPublish(topic: string): boolean;
  maySubscribe(filter: string): boolean;
}

/** Throws when a shared filter could reach a wearable's up/down topics. */
export function checkSharedTopics(sharedTopics: readonly string[], devicePrefix: string): void {
  for (const filter of sharedTopics) {
    for (const deviceFilter of [`${devicePrefix}/+/up/#`, `${devicePrefix}/+/down/#`]) {
      if (filtersIntersect(filter, deviceFilter)) {
        throw new Error(`bridge.sharedTopics entry "${filter}" would give services the wearables' topics (${deviceFilter})`);
      }
    }
  }
}

export function createServiceAcl(o: ServiceAclOptions): ServiceAcl {
  checkSharedTopics(o.sharedTopics, o.devicePrefix);
  const { topics } = o;
  const discovery = `${topics.discoveryPrefix}/#`;
  const subscribable = [discovery, `${topics.prefix}/#`, `${o.devicePrefix}/gateway/state`, `${o.devicePrefix}/+/availability`, ...o.sharedTopics];
  const publishable = [
    discovery,
    `${topics.prefix}/+/notify/set`,
    `${topics.prefix}/+/stop/set`,
    `${topics.prefix}/+/mute/set`,
    topics.conversationResponse(),
    ...o.sharedTopics,
  ];
  return {
    mayPublish: (topic) => !/[+#]/.test(topic) && publishable.some((filter) => topicMatches(filter, topic)),
    maySubscribe: (filter) => subscribable.some((allowed) => filterWithin(filter, allowed)),
  };
}

export interface ServiceVerifier {
  verify(name: string, token: string): boolean;
}

/** The embedded broker's hook: a valid service login gets the service ACL; anything else falls through to device auth. */
export function createServiceAuthenticator(services: ServiceVerifier, acl: ServiceAcl, logger: Logger): AuthenticateService {
  return (username, password) => {
    let valid = false;
    try {
      valid = services.verify(username, password);
    } catch (err) {
      logger.error({ err }, 'service account check failed');
    }
    if (!valid) return null;
    const account: ServiceAccount = { name: username, mayPublish: acl.mayPublish, maySubscribe: acl.maySubscribe };
    return account;
  };
}
