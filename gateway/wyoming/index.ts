/** The Wyoming server: Home Assistant's voice pipelines use voxgate's speech-to-text and text-to-speech. */
export { startWyomingServer, type WyomingServer, type WyomingServerOptions } from './wyoming-server.ts';
export { WyomingSchema, WYOMING_ENV_VARS, DEFAULT_WYOMING_PORT, type WyomingConfig } from './wyoming-config.ts';
export { type AttachedEngines, type CatalogSource } from './wyoming-catalog.ts';
