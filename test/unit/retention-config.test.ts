// The `retention` section of the fleet server's configuration: its defaults, null to keep everything, and every
// bad value refused with its path (FLEET_CONFIG_INVALID) before the server starts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseFleetConfig } from '../../broker/src/config.js';

test('defaults: 90 days of telemetry, 100 exposure reports per device', () => {
  assert.equal(parseFleetConfig({}).retention, { telemetryDays: 90, reportsPerDevice: 100 });
  assert.equal(parseFleetConfig({ retention: {} }).retention, { telemetryDays: 90, reportsPerDevice: 100 });
});

test('null keeps everything of a kind; fractions of a day are allowed', () => {
  assert.equal(parseFleetConfig({ retention: { telemetryDays: null, reportsPerDevice: null } }).retention, {
    telemetryDays: null,
    reportsPerDevice: null,
  });
  assert.is(parseFleetConfig({ retention: { telemetryDays: 0.5 } }).retention.telemetryDays, 0.5);
});

test('bad values and unknown keys are refused, all listed with their paths', () => {
  const bad = { retention: { telemetryDays: -1, reportsPerDevice: 1.5, keepForever: true } };
  assert.throws(
    () => parseFleetConfig(bad),
    (err: Error & { code?: string }) =>
      err.code === 'FLEET_CONFIG_INVALID' &&
      /retention\.telemetryDays: -1 is outside/.test(err.message) &&
      /retention\.reportsPerDevice: expected an integer/.test(err.message) &&
      /retention\.keepForever: unknown key/.test(err.message),
  );
  assert.throws(() => parseFleetConfig({ retention: { telemetryDays: 0 } }), /telemetryDays: 0 is outside/);
  assert.throws(() => parseFleetConfig({ retention: { reportsPerDevice: 0 } }), /reportsPerDevice: 0 is outside/);
  assert.throws(() => parseFleetConfig({ retention: 90 }), /retention: expected a map/);
});

test.run();
