// The "api" section of the fleet server configuration: defaults, bounds, unknown keys, and the one rule across
// keys (the header timeout cannot exceed the request timeout), each problem listed with the others.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseFleetConfig } from '../../broker/src/config.js';
import { EdgewardError } from '../../shared/src/index.js';

function problems(raw: unknown): string {
  try {
    parseFleetConfig(raw);
  } catch (err) {
    assert.instance(err, EdgewardError);
    assert.is((err as EdgewardError).code, 'FLEET_CONFIG_INVALID');
    return (err as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(raw)}`);
}

test('defaults: what docs/operator-api.md and docs/fleet-config.md state', () => {
  assert.equal(parseFleetConfig({}).api, {
    requestsPerMinutePerAddress: 3000,
    requestsPerMinutePerOperator: 1200,
    maxBodyBytes: 64 * 1024,
    headersTimeoutSeconds: 10,
    requestTimeoutSeconds: 30,
  });
  const c = parseFleetConfig({ api: { requestsPerMinutePerOperator: 5, headersTimeoutSeconds: 2.5 } });
  assert.is(c.api.requestsPerMinutePerOperator, 5);
  assert.is(c.api.headersTimeoutSeconds, 2.5);
  assert.is(c.api.requestsPerMinutePerAddress, 3000);
  assert.ok(Object.isFrozen(c.api));
});

test('refused: unknown keys, wrong types, out of bounds, and every problem at once', () => {
  const message = problems({
    api: {
      requestsPerMinutePerAddress: 0,
      requestsPerMinutePerOperator: '10',
      maxBodyBytes: 1024,
      headersTimeoutSeconds: 0.5,
      tokenInUrl: true,
    },
  });
  for (const key of [
    'requestsPerMinutePerAddress',
    'requestsPerMinutePerOperator',
    'maxBodyBytes',
    'headersTimeoutSeconds',
    'tokenInUrl',
  ]) {
    assert.match(message, `api.${key}`);
  }
  assert.match(problems({ api: { maxBodyBytes: 64 * 1024 * 1024 } }), 'api.maxBodyBytes');
  assert.match(problems({ api: [] }), 'api');
});

test('the header timeout cannot exceed the request timeout; reported with the other problems', () => {
  const message = problems({
    api: { headersTimeoutSeconds: 20, requestTimeoutSeconds: 10 },
    limits: { queueLimit: 0 },
  });
  assert.match(message, 'api.headersTimeoutSeconds: must not exceed requestTimeoutSeconds');
  assert.match(message, 'limits.queueLimit');
  assert.is(
    parseFleetConfig({ api: { headersTimeoutSeconds: 10, requestTimeoutSeconds: 10 } }).api.requestTimeoutSeconds,
    10,
  );
});

test.run();
