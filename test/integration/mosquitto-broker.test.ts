// The agent speaks standard MQTT: it works against a real mosquitto broker that requires certificates.
import { test as uvu } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { createAgent } from '../../agent/src/index.js';
import { decodeDeviceMessage } from '../../shared/src/index.js';
import { fleetPaths } from '../../broker/src/fleet/data-dir.js';
import { createTestFleet, testLogger, waitFor, type TestFleet } from '../helpers/fleet.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { testWithPeers } from '../helpers/peers.js';
import { run } from '../helpers/run.js';

const test = testWithPeers(['mosquitto', 'mosquitto_sub'], 'apt-get install mosquitto mosquitto-clients');
let fleet: TestFleet;
let broker: Mosquitto | undefined;

uvu.after(async () => {
  await broker?.stop();
  await fleet?.close();
});

test(
  'agent publishes status and CBOR telemetry through mosquitto (require_certificate, ' + 'use_identity_as_username)',
  async () => {
    fleet = await createTestFleet(['gw-001', 'watcher']);
    const p = fleetPaths(fleet.dataDir);
    broker = await startMosquitto({ tls: { cafile: p.caCert, certfile: p.serverCert, keyfile: p.serverKey } });
    const w = fleet.deviceDir('watcher');
    const sub = run('mosquitto_sub', [
      '-h',
      '127.0.0.1',
      '-p',
      String(broker.port),
      '--cafile',
      join(w, 'ca.crt'),
      '--cert',
      join(w, 'device.crt'),
      '--key',
      join(w, 'device.key'),
      '-i',
      'watcher',
      '-t',
      'fleet/v1/gw-001/telemetry',
      '-C',
      '1',
      '-W',
      '15',
      '-F',
      '%x',
    ]);
    await new Promise((r) => setTimeout(r, 500));
    const agent = await createAgent({
      config: fleet.agentConfig('gw-001', { server: `mqtts://127.0.0.1:${broker.port}` }),
      log: testLogger(),
    });
    try {
      await waitFor(() => agent.stats().lastAckedSequence >= 2, 'acknowledged telemetry from mosquitto', 15_000);
      const r = await sub;
      assert.is(r.code, 0, r.output + broker.log());
      // Sealed end to end: the broker (and whoever reads it) sees an envelope; the backend's key opens it.
      const sealed = Buffer.from(r.stdout.trim(), 'hex');
      assert.not.ok(sealed.includes(Buffer.from('samples')), 'no field name in the clear through mosquitto');
      const telemetry = fleet.openFromDevice('gw-001', 'fleet/v1/gw-001/telemetry', sealed);
      const decoded = decodeDeviceMessage('telemetry', telemetry);
      assert.is(decoded.kind, 'telemetry');
      if (decoded.kind === 'telemetry') assert.ok(decoded.message.samples.length >= 1);
      // The retained status is there for a late subscriber.
      const status = await run('mosquitto_sub', [
        '-h',
        '127.0.0.1',
        '-p',
        String(broker.port),
        '--cafile',
        join(w, 'ca.crt'),
        '--cert',
        join(w, 'device.crt'),
        '--key',
        join(w, 'device.key'),
        '-i',
        'watcher',
        '-t',
        'fleet/v1/gw-001/status',
        '-C',
        '1',
        '-W',
        '5',
        '-F',
        '%x',
      ]);
      const statusBytes = Buffer.from(status.stdout.trim(), 'hex');
      const st = decodeDeviceMessage('status', fleet.openFromDevice('gw-001', 'fleet/v1/gw-001/status', statusBytes));
      assert.is(st.kind === 'status' && st.message.state, 'online');
    } finally {
      await agent.close();
    }
  },
);

uvu.run();
