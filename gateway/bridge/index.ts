/** Home automation over MQTT: Home Assistant discovery, states, commands and home-device control. */
export { createHomeAssistantBridge, type BridgeDevices, type BridgeRuntime, type HomeAssistantBridge, type HomeAssistantBridgeDeps } from './bridge.ts';
export * from './bridge-config.ts';
export { createBridgeTopics, filterWithin, filtersIntersect, prefixesOverlap, type BridgeTopics, type BridgeCommand } from './bridge-topics.ts';
export { wearableDiscovery, entityIdFor, stateText, ORIGIN_NAME, BUTTON_TRIGGER_TYPES, MAX_STATE_CHARS } from './discovery-payload.ts';
export { readDiscoveryConfig, templateKey, type HomeEntity, type EntityDomain } from './discovery-config.ts';
export { EntityCatalog, type KnownEntity, type EntityStatus } from './entity-catalog.ts';
export { EntityAllowlist, resolveEntity, commandsFor, type ControlRequest, type MqttCommand } from './entity-control.ts';
export { createHomeTools, LIST_TOOL_NAME, CONTROL_TOOL_NAME } from './home-tools.ts';
export { HaConversationResponder } from './ha-conversation.ts';
export { HaAssistResponder, parseConversationResult } from './ha-assist.ts';
export { AnnouncementQueue } from './announcements.ts';
export { createServiceAcl, createServiceAuthenticator, checkSharedTopics, type ServiceAcl } from './service-acl.ts';
