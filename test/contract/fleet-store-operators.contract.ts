// The operator registry, dashboard sessions and API token keys of the fleet store, run against every implementation
// (SQLite, PostgreSQL) through two handles on one database, as two cluster nodes hold: what one adds, revokes or
// ends the other sees at its next read; of two adding the same operator or spending the same link at once, one wins;
// the last admin survives two revocations at once; a token signed by one node verifies on the other and is refused
// there once its operator is revoked; a token key stays shared while a node signs with it, and is pruned a day and an
// hour after its last use.
import { createPrivateKey } from 'node:crypto';
import { join } from 'node:path';
import type { FastifyRequest } from 'fastify';
import { SignJWT } from 'jose';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createTokenService } from '../../broker/src/api/access-tokens.js';
import { createAuthenticator } from '../../broker/src/api/auth.js';
import { LINK_TTL_MS, SESSION_TTL_MS } from '../../broker/src/db/dashboard-sessions.js';
import { openDb } from '../../broker/src/db/open.js';
import type { FleetStore } from '../../broker/src/store/index.js';
import { generateKeyPair, keyId, publicKeyToPem } from '../../shared/src/index.js';
import { tmpDir } from '../helpers/tmp.js';
import { rejectsWith } from './fleet-store.contract.js';

export interface SharedStoreUnderTest {
  /** Two handles on one database (two connections or pools), as two nodes of a cluster hold. */
  readonly a: FleetStore;
  readonly b: FleetStore;
}

const T0 = 1_767_000_000_000;

const newOperator = (name: string, role: 'viewer' | 'admin' = 'viewer') => {
  const pair = generateKeyPair();
  return { name, kid: keyId(pair.publicKey), publicKey: publicKeyToPem(pair.publicKey), role, createdBy: 'test' };
};

const settle = async <T>(ps: Promise<T>[]) => {
  const r = await Promise.allSettled(ps);
  return {
    won: r.filter((x) => x.status === 'fulfilled').map((x) => (x as PromiseFulfilledResult<T>).value),
    lost: r.filter((x) => x.status === 'rejected').map((x) => (x as PromiseRejectedResult).reason as { code?: string }),
  };
};

export function operatorAccessContract(name: string, make: () => Promise<SharedStoreUnderTest>): void {
  const t = suite(`fleet store operators, sessions, token keys: ${name}`);
  let open: SharedStoreUnderTest[] = [];
  const fresh = async () => {
    const u = await make();
    open.push(u);
    return u;
  };
  t.after.each(async () => {
    for (const u of open) {
      await u.a.close();
      await u.b.close();
    }
    open = [];
  });

  t('operators: the record through either handle; a taken name or key is FLEET_STORE_CONSTRAINT', async () => {
    const { a, b } = await fresh();
    const alice = newOperator("alice'; DROP TABLE operators; --", 'admin');
    const added = await a.operators.add(alice, T0);
    assert.equal(added, {
      id: added.id,
      name: alice.name,
      kid: alice.kid,
      publicKey: alice.publicKey,
      role: 'admin',
      status: 'active',
      createdAt: new Date(T0).toISOString(),
      createdBy: 'test',
      revokedAt: null,
      revokedBy: null,
    });
    assert.equal(await b.operators.byName(alice.name), added);
    assert.equal(await b.operators.byKid(alice.kid), added);
    assert.equal(await b.operators.byId(added.id), added);
    assert.equal(await b.operators.current(added.id), { status: 'active', role: 'admin' });
    assert.is(await b.operators.byName('nobody'), undefined);
    assert.is(await b.operators.byId(2 ** 62), undefined);
    assert.is(await b.operators.current(-1), undefined);
    await rejectsWith(b.operators.add({ ...newOperator(alice.name), createdBy: 'b' }), 'FLEET_STORE_CONSTRAINT');
    await rejectsWith(b.operators.add({ ...alice, name: 'alice-2' }), 'FLEET_STORE_CONSTRAINT');
    await b.operators.add(newOperator('Bob'), T0);
    await b.operators.add(newOperator('bob'), T0);
    // Byte order, as SQLite sorts: upper case first.
    assert.equal(
      (await a.operators.list()).map((o) => o.name),
      ['Bob', alice.name, 'bob'],
    );
    assert.is(await a.operators.activeAdmins(), 1);
  });

  t('two nodes adding the same operator name at once: one wins by the UNIQUE constraint', async () => {
    const { a, b } = await fresh();
    for (let i = 0; i < 5; i++) {
      const r = await settle([a.operators.add(newOperator(`carol-${i}`)), b.operators.add(newOperator(`carol-${i}`))]);
      assert.is(r.won.length, 1, `round ${i}`);
      assert.equal(
        r.lost.map((e) => e.code),
        ['FLEET_STORE_CONSTRAINT'],
      );
    }
    assert.is((await b.operators.list()).length, 5);
  });

  t('a revocation through one handle is seen through the other; the last active admin stays', async () => {
    const { a, b } = await fresh();
    const root = await a.operators.add(newOperator('root', 'admin'));
    const dave = await a.operators.add(newOperator('dave'));
    assert.ok(await b.operators.revoke('dave', 'operator:root', T0 + 5));
    assert.equal(await a.operators.current(dave.id), { status: 'revoked', role: 'viewer' });
    const after = (await a.operators.byName('dave'))!;
    assert.equal(
      [after.status, after.revokedAt, after.revokedBy],
      ['revoked', new Date(T0 + 5).toISOString(), 'operator:root'],
    );
    assert.is(await a.operators.revoke('dave', 'operator:root'), false);
    assert.is(await a.operators.revoke('nobody', 'operator:root'), false);
    await rejectsWith(b.operators.revoke('root', 'operator:root'), 'FLEET_LAST_ADMIN');
    assert.equal(await a.operators.current(root.id), { status: 'active', role: 'admin' });
    // The only two admins revoked at once through two nodes: one revocation wins, the other admin stays.
    let survivor = 'root';
    for (let i = 0; i < 5; i++) {
      await a.operators.add(newOperator(`admin-${i}`, 'admin'));
      const r = await settle([a.operators.revoke(survivor, 'test'), b.operators.revoke(`admin-${i}`, 'test')]);
      assert.equal(r.won, [true], `round ${i}`);
      assert.equal(
        r.lost.map((e) => e.code),
        ['FLEET_LAST_ADMIN'],
      );
      assert.is(await b.operators.activeAdmins(), 1);
      survivor = (await a.operators.list()).find((o) => o.role === 'admin' && o.status === 'active')!.name;
    }
  });

  t('dashboard links open one session, once, on any node; a session ended on one is refused on the other', async () => {
    const { a, b } = await fresh();
    const op = await a.operators.add(newOperator('erin', 'admin'));
    const link = await a.dashboardSessions.createLink(op.id, T0);
    assert.is(link.expiresAt, T0 + LINK_TTL_MS);
    assert.match(link.secret, /^[A-Za-z0-9_-]{43}$/);
    const opened = await b.dashboardSessions.redeem(link.secret, T0 + 1000);
    if (!opened.ok) return assert.unreachable(opened.reason);
    assert.is(opened.session.operatorId, op.id);
    assert.is(opened.session.expiresAt, T0 + 1000 + SESSION_TTL_MS);
    assert.not.equal(opened.secret, link.secret);
    assert.equal(await a.dashboardSessions.redeem(link.secret, T0 + 2000), {
      ok: false,
      reason: 'used',
      operatorId: op.id,
    });
    assert.equal(await a.dashboardSessions.session(opened.secret, T0 + 2000), opened.session);
    assert.is(await a.dashboardSessions.session(opened.secret, opened.session.expiresAt), undefined, 'expired');
    assert.ok(await b.dashboardSessions.end(opened.secret, T0 + 3000));
    assert.is(await a.dashboardSessions.session(opened.secret, T0 + 4000), undefined);
    assert.is(await a.dashboardSessions.end(opened.secret, T0 + 4000), false);

    const late = await b.dashboardSessions.createLink(op.id, T0);
    assert.equal(await a.dashboardSessions.redeem(late.secret, T0 + LINK_TTL_MS), {
      ok: false,
      reason: 'expired',
      operatorId: op.id,
    });
    for (const hostile of ['', 'x', "' OR 1=1 --", 'A'.repeat(43).replace('A', '\u0000'), 'é'.repeat(43)]) {
      assert.equal(await a.dashboardSessions.redeem(hostile), { ok: false, reason: 'malformed' });
      assert.is(await a.dashboardSessions.session(hostile), undefined);
      assert.is(await b.dashboardSessions.end(hostile), false);
    }
    assert.equal(await a.dashboardSessions.redeem('A'.repeat(43)), { ok: false, reason: 'unknown' });
    // A link for an operator the registry does not hold is refused by the foreign key.
    await rejectsWith(a.dashboardSessions.createLink(op.id + 1000), 'FLEET_STORE_CONSTRAINT');
  });

  t('a link redeemed on two nodes at once opens one session', async () => {
    const { a, b } = await fresh();
    const op = await a.operators.add(newOperator('frank'));
    for (let i = 0; i < 5; i++) {
      const { secret } = await a.dashboardSessions.createLink(op.id);
      const r = await Promise.all([a.dashboardSessions.redeem(secret), b.dashboardSessions.redeem(secret)]);
      assert.equal(r.map((x) => (x.ok ? 'ok' : x.reason)).sort(), ['ok', 'used'], `round ${i}`);
    }
  });

  t('token keys: published through one handle, read through the other; the first key of a kid stays', async () => {
    const { a, b } = await fresh();
    const one = { kid: '0123456789abcdef', publicKey: publicKeyToPem(generateKeyPair().publicKey), createdAt: T0 };
    await a.tokenKeys.publish(one);
    assert.equal(await b.tokenKeys.get(one.kid), one);
    await b.tokenKeys.publish({ ...one, publicKey: publicKeyToPem(generateKeyPair().publicKey), createdAt: T0 + 1 });
    assert.equal(await a.tokenKeys.get(one.kid), one);
    assert.is(await a.tokenKeys.get('fedcba9876543210'), undefined);
    assert.is(await a.tokenKeys.get("' OR 1=1 --"), undefined);
    for (const kid of ['0123456789ABCDEF', '0123', "0123456789abcde'", '0123456789abcdef0']) {
      await rejectsWith(a.tokenKeys.publish({ ...one, kid }), 'FLEET_STORE_CONSTRAINT');
    }
  });

  t(
    'token keys: publishing a key again moves its time forward, never back nor for another key; prune drops the old',
    async () => {
      const { a, b } = await fresh();
      const key = (kid: string, createdAt: number) => ({
        kid,
        publicKey: publicKeyToPem(generateKeyPair().publicKey),
        createdAt,
      });
      const kept = key('1111111111111111', T0);
      const stale = key('2222222222222222', T0);
      await a.tokenKeys.publish(kept);
      await a.tokenKeys.publish(stale);
      await b.tokenKeys.publish({ ...kept, createdAt: T0 + 3_600_000 });
      assert.is((await a.tokenKeys.get(kept.kid))?.createdAt, T0 + 3_600_000, 'vouched for again an hour later');
      await b.tokenKeys.publish({ ...kept, createdAt: T0 + 60_000 });
      assert.is((await a.tokenKeys.get(kept.kid))?.createdAt, T0 + 3_600_000, 'an older time does not move it back');
      await b.tokenKeys.publish({ ...key(kept.kid, T0 + 7_200_000) });
      assert.equal(await a.tokenKeys.get(kept.kid), { ...kept, createdAt: T0 + 3_600_000 }, 'another key of the kid');
      assert.is(await b.tokenKeys.prune(T0 + 60_000), 1);
      assert.is(await a.tokenKeys.get(stale.kid), undefined);
      assert.ok(await a.tokenKeys.get(kept.kid));
      assert.is(await b.tokenKeys.prune(T0 + 60_000), 0);
    },
  );

  t(
    'token keys across nodes: a key in use stays past any rotation; one unused for a day is pruned and stops verifying',
    async () => {
      const { a, b } = await fresh();
      let clock = T0;
      const node = (store: FleetStore, rotateAfterMs?: number) => {
        const db = openDb(join(tmpDir('edgeward-node-'), 'fleet.db'));
        const tokens = createTokenService({
          db,
          issuer: 'fleet-x',
          shared: store.tokenKeys,
          now: () => clock,
          ...(rotateAfterMs ? { rotateAfterMs } : {}),
        });
        return { db, tokens };
      };
      const issue = (n: ReturnType<typeof node>) =>
        n.tokens.issue({
          operatorId: 1,
          operator: 'ada',
          role: 'admin',
          scopes: ['devices:read'],
          devices: null,
          ttlMs: 3_600_000,
        });
      // A signs with one key for a year (as an HSM's key does), C rotates daily, B only verifies.
      const [nodeA, nodeB, nodeC] = [node(a, 365 * 86_400_000), node(b), node(b)];
      await issue(nodeA);
      const first = await issue(nodeC);
      const firstKey = nodeC.db.prepare('SELECT kid, private_key FROM token_keys').get() as {
        kid: string;
        private_key: string;
      };
      assert.ok((await nodeB.tokens.verify(first.token)).ok);
      // A keeps signing every hour; C signs now and then, rotating after a day.
      for (let h = 1; h <= 27; h++) {
        clock = T0 + h * 3_600_000;
        const fromA = await issue(nodeA);
        assert.ok((await nodeB.tokens.verify(fromA.token)).ok, `A's token of hour ${h}`);
      }
      await issue(nodeC); // its rotation: the shared store forgets the keys unused for a day and an hour
      assert.is(await a.tokenKeys.get(firstKey.kid), undefined, "C's first key, last used 27 h ago, is gone");
      assert.ok(await a.tokenKeys.get((nodeA.db.prepare('SELECT kid FROM token_keys').get() as { kid: string }).kid));
      // Whoever still holds that first key's private half (a stolen backup of C) mints nothing B accepts.
      const iat = Math.floor(clock / 1000);
      const forged = await new SignJWT({ role: 'admin', scope: 'devices:read', oid: 1, name: 'ada' })
        .setProtectedHeader({ alg: 'EdDSA', kid: firstKey.kid, typ: 'at+jwt' })
        .setIssuer('fleet-x')
        .setAudience('fleet-x')
        .setSubject('operator:ada')
        .setIssuedAt(iat)
        .setExpirationTime(iat + 600)
        .setJti('forged')
        .sign(createPrivateKey(firstKey.private_key));
      assert.equal(await nodeB.tokens.verify(forged), { ok: false, reason: 'unknown-key' });
      for (const n of [nodeA, nodeB, nodeC]) n.db.close();
    },
  );

  t('a token signed by node A verifies on node B; once its operator is revoked through B, A refuses it', async () => {
    const { a, b } = await fresh();
    const op = await a.operators.add(newOperator('grace', 'admin'));
    await a.operators.add(newOperator('root', 'admin'));
    // Each node signs with a key of its own folder; only the public halves are in the store.
    const node = (store: FleetStore) =>
      createTokenService({
        db: openDb(join(tmpDir('edgeward-node-'), 'fleet.db')),
        issuer: 'fleet-x',
        shared: store.tokenKeys,
      });
    const [onA, onB] = [node(a), node(b)];
    const issued = await onA.issue({
      operatorId: op.id,
      operator: op.name,
      role: op.role,
      scopes: ['devices:read'],
      devices: null,
      ttlMs: 60_000,
    });
    assert.ok((await onB.verify(issued.token)).ok);
    const lone = createTokenService({ db: openDb(join(tmpDir('edgeward-node-'), 'fleet.db')), issuer: 'fleet-x' });
    assert.equal(await lone.verify(issued.token), { ok: false, reason: 'unknown-key' });

    const request = { headers: { authorization: `Bearer ${issued.token}` }, method: 'GET' } as FastifyRequest;
    const authA = createAuthenticator({ tokens: onA, operators: a.operators, sessions: a.dashboardSessions });
    const authB = createAuthenticator({ tokens: onB, operators: b.operators, sessions: b.dashboardSessions });
    assert.is((await authB(request)).operator, 'grace');
    assert.ok(await b.operators.revoke('grace', 'operator:root'));
    for (const auth of [authA, authB]) {
      try {
        await auth(request);
        assert.unreachable('accepted');
      } catch (err) {
        assert.equal((err as { details?: unknown }).details, { reason: 'operator-revoked' });
      }
    }
  });

  t.run();
}
