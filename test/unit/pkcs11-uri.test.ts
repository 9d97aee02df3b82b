// RFC 7512 URIs: the RFC's own examples (§7) parse, and malformed ones are refused with every problem listed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isPkcs11Uri, Pkcs11Error, parsePkcs11Uri } from '../../shared/src/pkcs11/index.js';

const RFC_EXAMPLES = [
  'pkcs11:',
  'pkcs11:object=my-pubkey;type=public',
  'pkcs11:object=my-key;type=private?pin-source=file:/etc/token',
  'pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,%20Inc.;model=1.0;' +
    'object=my-certificate;type=cert;id=%69%95%3E%5C%F4%BE%2D%DA%AF%5C%7F%99%5F%3A%C9%33%E4%AF%2F%69%B8;' +
    'serial=?pin-source=file:/etc/token_pin',
  'pkcs11:object=my-sign-key;type=private?module-name=mypkcs11',
  'pkcs11:object=my-sign-key;type=private?module-path=/mnt/libmypkcs11.so.1',
  'pkcs11:token=Software%20PKCS%2311%20softtoken;manufacturer=Snake%20Oil,%20Inc.?pin-value=the-pin',
  'pkcs11:slot-description=Sun%20Metaslot',
  'pkcs11:library-manufacturer=Snake%20Oil,%20Inc.;library-description=Soft%20Token%20Library;library-version=1.23',
  'pkcs11:token=My%20token%25%20created%20by%20Joe;library-version=3;id=%01%02%03%Ba%dd%Ca%fe%04%05%06',
  'pkcs11:token=A%20name%20with%20a%20substring%20%25%3B;object=my-certificate;type=cert',
  'pkcs11:token=Name%20with%20a%20small%20A%20with%20acute:%20%C3%A1;object=my-certificate;type=cert',
  'pkcs11:token=my-token;object=my-certificate;type=cert;vendor-aaa=value-a' +
    '?pin-source=file:/etc/token-pin&vendor-bbb=value-b',
];

test('every example of RFC 7512 §7 parses', () => {
  for (const uri of RFC_EXAMPLES) {
    assert.ok(isPkcs11Uri(uri));
    parsePkcs11Uri(uri);
  }
});

test('values are percent-decoded; id stays bytes; query attributes are typed', () => {
  const a = parsePkcs11Uri(RFC_EXAMPLES[3] as string);
  assert.is(a.token, 'The Software PKCS#11 Softtoken');
  assert.is(a.manufacturer, 'Snake Oil, Inc.');
  assert.is(a.type, 'cert');
  assert.is(a.serial, '');
  assert.is(a.pinSource, '/etc/token_pin');
  assert.is(Buffer.from(a.id as Uint8Array).toString('hex'), '69953e5cf4be2ddaaf5c7f995f3ac933e4af2f69b8');
  assert.is(parsePkcs11Uri(RFC_EXAMPLES[9] as string).token, 'My token% created by Joe');
  assert.is(parsePkcs11Uri(RFC_EXAMPLES[10] as string).token, 'A name with a substring %;');
  assert.is(parsePkcs11Uri(RFC_EXAMPLES[11] as string).token, 'Name with a small A with acute: á');
  assert.is(parsePkcs11Uri(RFC_EXAMPLES[6] as string).pinValue, 'the-pin');
  assert.is(parsePkcs11Uri(RFC_EXAMPLES[5] as string).modulePath, '/mnt/libmypkcs11.so.1');
  assert.equal(parsePkcs11Uri(RFC_EXAMPLES[12] as string).vendor, { 'vendor-aaa': 'value-a', 'vendor-bbb': 'value-b' });
  const ours = parsePkcs11Uri(
    'pkcs11:token=edgeward;object=release-1' +
      '?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/etc/edgeward/pin',
  );
  assert.equal(
    { token: ours.token, object: ours.object, module: ours.modulePath, pin: ours.pinSource },
    { token: 'edgeward', object: 'release-1', module: '/usr/lib/softhsm/libsofthsm2.so', pin: '/etc/edgeward/pin' },
  );
});

const refused: [string, RegExp][] = [
  ['file:/etc/key.pem', /does not start with "pkcs11:"/],
  ['pkcs11:object=a;object=b', /"object" is given more than once/],
  ['pkcs11:object=a%2', /not followed by two hex digits/],
  ['pkcs11:object=a%zz', /not followed by two hex digits/],
  ['pkcs11:object=a b', /must be percent-encoded/],
  ['pkcs11:object', /has no "=value"/],
  ['pkcs11:type=secret', /type must be one of/],
  ['pkcs11:object=k?pin-source=https://x/pin', /pin-source must be a "file:" path/],
  ['pkcs11:object=k?pin-source=file:pin', /absolute path/],
  ['pkcs11:object=k?module-path=libsofthsm2.so', /module-path must be an absolute path/],
  ['pkcs11:module-path=/x.so', /belongs in the query/],
  ['pkcs11:?object=k', /belongs in the path/],
  ['pkcs11:object=%FF%FE', /not valid UTF-8/],
  ['pkcs11:object=a%0Ab', /control character/],
  ['pkcs11:object=k?pin-value=1&pin-source=file:/p', /not both/],
  ['pkcs11:slot-id=abc', /slot-id must be a decimal number/],
  [`pkcs11:object=${'a'.repeat(5000)}`, /longer than 4096/],
];

for (const [uri, why] of refused) {
  test(`refused: ${uri.slice(0, 60)}`, () => {
    try {
      parsePkcs11Uri(uri);
      assert.unreachable('parsed');
    } catch (err) {
      assert.instance(err, Pkcs11Error);
      assert.is((err as Pkcs11Error).code, 'PKCS11_URI_INVALID');
      assert.match((err as Error).message, why);
    }
  });
}

test('every problem is reported at once, and a PIN never appears in the message', () => {
  try {
    parsePkcs11Uri('pkcs11:object=a;object=b;type=x?pin-value=secret-pin&pin-source=file:/p');
    assert.unreachable('parsed');
  } catch (err) {
    const problems = (err as Pkcs11Error).details?.problems as string[];
    assert.is(problems.length, 3);
    assert.not.match((err as Error).message, /secret-pin/);
  }
});

test.run();
