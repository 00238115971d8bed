/**
 * What the gateway itself may publish. Its publishes bypass the broker's ACL (in-process on
 * the embedded broker, the gateway login's wide rights on an external one) and reach its own
 * subscriptions, so a message it put on `<prefix>/<id>/up/…` would be taken as that wearable
 * speaking (docs/protocol.md §1.2: only the device publishes under its `up/`). Whatever asks
 * for such a publish — a forged Home Assistant entity, a bug — is refused here, on every bus.
 */
import { topicMatches } from './mqtt-bus.ts';

export class GatewayPublishRefused extends Error {
  override name = 'GatewayPublishRefused';
}

/** Why the gateway must not publish on `topic`, or undefined when it may. */
export function gatewayPublishRefusal(devicePrefix: string, topic: string): string | undefined {
  if (topic.length === 0 || /[+#\u0000]/.test(topic)) return 'not a plain topic name';
  if (topicMatches(`${devicePrefix}/+/up/#`, topic)) return "a device's uplink: only the device publishes there";
  return undefined;
}

/** Throws GatewayPublishRefused for a topic the gateway must not publish on. */
export function checkGatewayPublish(devicePrefix: string, topic: string): void {
  const refusal = gatewayPublishRefusal(devicePrefix, topic);
  if (refusal) throw new GatewayPublishRefused(`gateway publish on ${JSON.stringify(topic.slice(0, 200))} refused: ${refusal}`);
}
