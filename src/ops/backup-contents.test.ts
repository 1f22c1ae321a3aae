import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeContents, encodeContents } from './backup-contents.js';

const contents = {
  createdAt: 1_795_000_000_000,
  dialect: 'sqlite',
  files: { 'secret.key': Buffer.from('a2V5\n') },
  snapshot: {
    migrations: ['0001-core'],
    tables: [
      { name: 'settings' as const, rows: [{ key: 'k', value: 'two\nlines — ünïcode', updated_at: 1_795_000_000_123 }] },
      { name: 'devices' as const, rows: Array.from({ length: 12_001 }, (_, i) => ({ id: `d${i}`, enrolled: i % 2, blob: Buffer.from([i & 255, 0, 10]), note: null })) },
    ],
  },
};

describe('backup contents', () => {
  it('round-trip values exactly: bytes, 0/1, epoch ms, null, newlines, in copy order, across chunk boundaries', () => {
    const back = decodeContents(encodeContents(contents));
    expect(back).toEqual(contents);
    expect(Buffer.isBuffer(back.snapshot.tables[1].rows[7].blob)).toBe(true);
  });

  it('refuses contents that do not add up, with one line', () => {
    expect(() => decodeContents(Buffer.from('plain text'))).toThrow('the backup contents are damaged (not gzip)');
    expect(() => decodeContents(gzipSync(''))).toThrow('the backup contents are damaged (no manifest)');
    const lines = gunzipSync(encodeContents(contents)).toString().split('\n');
    expect(() => decodeContents(gzipSync(lines.slice(0, -2).join('\n')))).toThrow(/^the backup contents are damaged \(devices: 12000 rows, manifest says 12001\)$/);
    expect(() => decodeContents(gzipSync([lines[0], '["widgets",{}]'].join('\n')))).toThrow('rows for unlisted table widgets');
  });
});
