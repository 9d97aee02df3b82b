// The live device sessions (broker/src/mqtt/sessions.ts): a client's end is handed back once, a newer session of
// the same device outlives the old one's end, and an ended client is still named for the will sent on its behalf.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Client } from 'aedes';
import { createSessions, type Session } from '../../broker/src/mqtt/sessions.js';

const client = () => ({}) as Client;
const session = (deviceId: string, c: Client, connectionId: number): Session => ({
  deviceId,
  serial: '01',
  fingerprint: 'f',
  address: '127.0.0.1',
  deviceType: 'gateway',
  connectedAt: 0,
  client: c,
  connectionId,
});

test('a client ends once: the second remove hands back nothing', () => {
  const sessions = createSessions();
  const c = client();
  const s = session('gw-1', c, 1);
  sessions.add(s);
  assert.is(sessions.remove(c), s);
  assert.is(sessions.remove(c), undefined);
  assert.is(sessions.get('gw-1'), undefined);
  assert.is(sessions.size, 0);
  assert.is(sessions.of(c), s, 'still named for its will');
});

test("a takeover: the old client's end keeps the newer session", () => {
  const sessions = createSessions();
  const old = client();
  const newer = client();
  sessions.add(session('gw-1', old, 1));
  const current = session('gw-1', newer, 2);
  sessions.add(current);
  assert.is(sessions.remove(old)?.connectionId, 1);
  assert.is(sessions.get('gw-1'), current);
  assert.is(sessions.size, 1);
});

test('a client never admitted has no session to end', () => {
  assert.is(createSessions().remove(client()), undefined);
});

test.run();
