/** The xiaozhi MQTT credentials (gateway/xiaozhi/mqtt-udp/mqtt-credentials.ts): the OTA block and how logins are recognised. */
import { describe, expect, it } from 'vitest';
import { mqttOffer, readXiaozhiLogin } from '../../gateway/xiaozhi/mqtt-udp/mqtt-credentials.ts';

describe('xiaozhi MQTT credentials', () => {
  it('the OTA block: host:port always (a bare host means TLS on 8883 to the firmware), every key the firmware reads', () => {
    const offer = mqttOffer(() => 1883);
    expect(offer({ deviceId: 'desk', mac: 'aa:bb:cc:dd:ee:ff', token: 'T0ken' }, new URL('http://voxgate.lan:8080'))).toEqual({
      mqtt: { endpoint: 'voxgate.lan:1883', client_id: 'voxgate-xiaozhi-desk', username: 'xiaozhi:desk', password: 'T0ken', publish_topic: 'xiaozhi/desk/up', keepalive: 240 },
    });
    expect(offer({ deviceId: 'd', mac: 'aa:bb:cc:dd:ee:ff', token: 't' }, new URL('http://192.168.1.10')).mqtt).toMatchObject({ endpoint: '192.168.1.10:1883' });
  });

  it.each([
    ['voxgate-xiaozhi-desk', 'xiaozhi:desk', { kind: 'xiaozhi', deviceId: 'desk' }],
    ['some-client', 'desk', { kind: 'other' }],
    ['voxgate-xiaozhi-desk', 'desk', { kind: 'refused' }], // a reserved client id under another login
    ['my-client', 'xiaozhi:desk', { kind: 'refused' }],
    ['voxgate-xiaozhi-desk', 'xiaozhi:kitchen', { kind: 'refused' }],
    ['voxgate-xiaozhi-gateway', 'xiaozhi:gateway', { kind: 'refused' }], // reserved device id
    ['voxgate-xiaozhi-a/b', 'xiaozhi:a/b', { kind: 'refused' }], // not a device id
  ])('client id %s, user %s', (clientId, username, expected) => {
    expect(readXiaozhiLogin(clientId, username)).toMatchObject(expected);
  });
});
