/**
 * The bridge when voxgate is a client of an existing Mosquitto (VOXGATE_MQTT_URL), as in a
 * Home Assistant install: a real broker with the ACL of docs/home-assistant.md, Home Assistant and zigbee2mqtt
 * as its users.
 */
import { describeBridge } from './bridge-suite.ts';

describeBridge('mosquitto');
