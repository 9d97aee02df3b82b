// MQTT.js's per-packet debug log is off in the agent (it allocated 9% of a simulated device's garbage per sample),
// unless DEBUG asks for it; and MQTT.js still takes the `log` option this relies on.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import mqtt from 'mqtt';
import { quietMqttJs } from '../../agent/src/mqtt/connection.js';

test('a no-op log unless DEBUG names mqttjs', () => {
  assert.type(quietMqttJs('').log, 'function');
  assert.type(quietMqttJs('edgeward:*,express').log, 'function');
  assert.equal(quietMqttJs('mqttjs*'), {});
  assert.equal(quietMqttJs('foo, mqttjs:client'), {});
  assert.equal(quietMqttJs('*'), {});
});

test('MQTT.js logs through the log option it is given (a client that never connects)', () => {
  const quiet = quietMqttJs('');
  const client = mqtt.connect('mqtts://127.0.0.1:1', { ...quiet, manualConnect: true, reconnectPeriod: 0 });
  // Never connected, it holds no socket or timer to end.
  assert.is((client as unknown as { log: unknown }).log, quiet.log);
});

test.run();
