/**
 * The home-automation bridge's settings (config section `bridge`), each limit a named
 * constant with its reason. Pure (zod only) so config.ts can import it.
 */
import { z } from 'zod';

/** Home Assistant's default discovery prefix. */
export const DEFAULT_DISCOVERY_PREFIX = 'homeassistant';
/**
 * The bridge's own state and command topics. Deliberately outside the device prefix: a
 * wearable may only subscribe to its own `down/#`, and Home Assistant's ACL can grant this
 * prefix whole without reaching any device's raw audio or control topics.
 */
export const DEFAULT_BRIDGE_TOPIC_PREFIX = 'voxgate-bridge';
/** A message for a wearable that is asleep is still worth saying this much later; after that it is stale. */
export const NOTIFY_EXPIRY_MS = 15 * 60_000;
/** Messages waiting per wearable; the oldest goes first when more arrive (a flood must not pile up). */
export const MAX_QUEUED_ANNOUNCEMENTS = 10;
/** A spoken announcement longer than this is a document, not a message: it is cut here. */
export const MAX_ANNOUNCEMENT_CHARS = 1_000;
/**
 * After Home Assistant's birth message, wait this long (plus a random share of the jitter)
 * before re-publishing: HA subscribes to discovery after announcing itself, and many
 * publishers answering the same birth at once should not all land in the same instant.
 */
export const BIRTH_REPUBLISH_DELAY_MS = 2_000;
export const BIRTH_REPUBLISH_JITTER_MS = 3_000;
/** Devices added or removed by another process (the `voxgate device` CLI) are noticed within this. */
export const REGISTRY_RESYNC_MS = 30_000;
/** After switching a home device, wait this long for its state topic to confirm (the tool then says so). */
export const CONTROL_CONFIRM_MS = 2_000;
/**
 * Home Assistant's conversation agent must answer within this: then `ha_conversation` falls back
 * to an apology, `ha_assist` to the LLM (whose own first-token limit follows).
 */
export const HA_CONVERSATION_TIMEOUT_MS = 8_000;
/** Entities one tool call lists: enough to choose from, small enough for a fast spoken answer. */
export const MAX_LISTED_ENTITIES = 40;

const positiveInt = z.coerce.number().int().positive();
const nonNegativeInt = z.coerce.number().int().min(0);
/** MQTT topic levels without wildcards, like the device prefix. */
const topicPrefix = z.string().regex(/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/, 'topic levels of letters, digits, - and _');
const splitList = (value: unknown) => (typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter(Boolean) : value);
/** Environment variables are strings: "false", "0", "no" and "off" mean false. */
const flag = z.preprocess((value) => (typeof value === 'string' ? !/^(false|0|no|off)$/i.test(value.trim()) : value), z.boolean());

export const BridgeSchema = z.object({
  /** Publish wearables to Home Assistant and offer home control to the LLM. */
  enabled: flag.default(true),
  /** Home Assistant's discovery prefix (its MQTT settings). */
  discoveryPrefix: topicPrefix.default(DEFAULT_DISCOVERY_PREFIX),
  /** Where the bridge's state and command topics live (not under the device prefix). */
  topicPrefix: topicPrefix.default(DEFAULT_BRIDGE_TOPIC_PREFIX),
  /**
   * `tools`: the LLM controls home devices with tools; `ha_conversation`: each transcript goes
   * to Home Assistant's conversation agent first (see homeassistant-conversation.yaml), and
   * what it cannot handle goes to the LLM; `ha_assist`: the same through Home Assistant's
   * REST API (`homeAssistant` section: URL and token), no automation needed.
   */
  mode: z.enum(['tools', 'ha_conversation', 'ha_assist']).default('tools'),
  /** Publish the last transcript and reply texts (privacy: off keeps them out of Home Assistant). */
  publishText: flag.default(true),
  notifyExpiryMs: positiveInt.default(NOTIFY_EXPIRY_MS),
  maxQueuedAnnouncements: positiveInt.default(MAX_QUEUED_ANNOUNCEMENTS),
  maxAnnouncementChars: positiveInt.default(MAX_ANNOUNCEMENT_CHARS),
  birthDelayMs: nonNegativeInt.default(BIRTH_REPUBLISH_DELAY_MS),
  birthJitterMs: nonNegativeInt.default(BIRTH_REPUBLISH_JITTER_MS),
  registryResyncMs: positiveInt.default(REGISTRY_RESYNC_MS),
  controlConfirmMs: nonNegativeInt.default(CONTROL_CONFIRM_MS),
  conversationTimeoutMs: positiveInt.default(HA_CONVERSATION_TIMEOUT_MS),
  /** Discovery prefixes whose lights and switches the LLM may learn; empty: the discovery prefix. */
  learnPrefixes: z.preprocess(splitList, z.array(topicPrefix)).default([]),
  /** Glob patterns over entity ids (`light.*`, `switch.kitchen_*`) the LLM may switch; default everything learned. */
  allowEntities: z.preprocess(splitList, z.array(z.string().min(1))).default(['*']),
  /**
   * Extra topic filters service accounts may use on the embedded broker, e.g. `zigbee2mqtt/#`
   * when zigbee2mqtt and Home Assistant share it. Never the device prefix.
   */
  sharedTopics: z.preprocess(splitList, z.array(z.string().min(1))).default([]),
});
export type BridgeConfig = z.infer<typeof BridgeSchema>;

export const BRIDGE_ENV_VARS: Record<string, string> = {
  VOXGATE_BRIDGE: 'bridge.enabled',
  VOXGATE_HA_DISCOVERY_PREFIX: 'bridge.discoveryPrefix',
  VOXGATE_BRIDGE_TOPIC_PREFIX: 'bridge.topicPrefix',
  VOXGATE_BRIDGE_MODE: 'bridge.mode',
  VOXGATE_BRIDGE_PUBLISH_TEXT: 'bridge.publishText',
  VOXGATE_NOTIFY_EXPIRY_MS: 'bridge.notifyExpiryMs',
  VOXGATE_BRIDGE_LEARN_PREFIXES: 'bridge.learnPrefixes',
  VOXGATE_BRIDGE_ALLOW: 'bridge.allowEntities',
  VOXGATE_BRIDGE_SHARED_TOPICS: 'bridge.sharedTopics',
};

// ---- mode ha_assist: Home Assistant's REST API ------------------------------------------------

/** Home Assistant's REST API, which mode `ha_assist` sends each transcript to (config section `homeAssistant`). */
export const HomeAssistantApiSchema = z.object({
  /** Where Home Assistant answers, e.g. http://homeassistant.local:8123. */
  url: z.string().url().optional(),
  /** A long-lived access token (Home Assistant: your profile → Security). */
  token: z.string().trim().min(1).optional(),
  /** The conversation agent (e.g. `conversation.home_assistant`); unset: the default pipeline's. */
  agentId: z.string().trim().min(1).optional(),
});
export type HomeAssistantApiConfig = z.infer<typeof HomeAssistantApiSchema>;

export const HOME_ASSISTANT_ENV_VARS: Record<string, string> = {
  VOXGATE_HA_URL: 'homeAssistant.url',
  VOXGATE_HA_TOKEN: 'homeAssistant.token',
  VOXGATE_HA_AGENT_ID: 'homeAssistant.agentId',
};
