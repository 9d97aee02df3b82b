// The dashboard's CSV export: RFC 4180 quoting, and no cell a spreadsheet would run as a formula.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { csvCell, toCsv } from '../../broker/dashboard/src/csv.js';

test('plain values pass through; empty for null and undefined', () => {
  assert.is(csvCell('gw-00001'), 'gw-00001');
  assert.is(csvCell(42), '42');
  assert.is(csvCell(null), '');
  assert.is(csvCell(undefined), '');
  assert.is(csvCell(true), 'true');
});

test('commas, quotes and line breaks are quoted, quotes doubled', () => {
  assert.is(csvCell('a,b'), '"a,b"');
  assert.is(csvCell('say "hi"'), '"say ""hi"""');
  assert.is(csvCell('two\nlines'), '"two\nlines"');
  assert.is(csvCell('cr\rhere'), '"cr\rhere"');
});

test('text that starts like a formula gets a leading quote, and is quoted when it must be', () => {
  for (const s of ['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx'])
    assert.ok(csvCell(s).replace(/^"/, '').startsWith("'"), s);
  assert.is(csvCell('=HYPERLINK("http://x","y")'), `"'=HYPERLINK(""http://x"",""y"")"`);
  assert.is(csvCell('a=b'), 'a=b');
});

test('numbers are data: a negative number is not made text', () => {
  assert.is(csvCell(-3), '-3');
});

test('toCsv writes a header and CRLF-terminated rows', () => {
  assert.is(
    toCsv(
      ['Device', 'Score'],
      [
        ['gw-1', 40],
        ['=x', null],
      ],
    ),
    "Device,Score\r\ngw-1,40\r\n'=x,\r\n",
  );
});

test.run();
