/**
 * What a backup holds, before encryption: gzip of JSON lines. The first line is the manifest
 * (format, source dialect, migrations, the data directory's key files, row counts); each further
 * line is one row, `["table", {column: value}]`, bytes written as {"$b64": "…"}. Portable by
 * design: a backup of SQLite restores into PostgreSQL and back.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { BackupArchiveError } from './backup-archive.js';
import { orderTables } from './table-order.js';
import type { Row, Snapshot } from './snapshot.js';

export const CONTENTS_VERSION = 1;

export interface BackupContents {
  createdAt: number;
  dialect: string;
  /** files of the data directory by name (secret.key), as bytes */
  files: Record<string, Buffer>;
  snapshot: Snapshot;
}

interface Manifest {
  kind: 'pomona-backup';
  version: number;
  createdAt: number;
  dialect: string;
  migrations: string[];
  files: Record<string, string>;
  counts: Record<string, number>;
}

const encodeValue = (v: unknown) => (Buffer.isBuffer(v) ? { $b64: v.toString('base64') } : v);
const decodeValue = (v: unknown) => (v !== null && typeof v === 'object' && typeof (v as { $b64?: unknown }).$b64 === 'string' ? Buffer.from((v as { $b64: string }).$b64, 'base64') : v);

export function encodeContents(c: BackupContents): Buffer {
  const manifest: Manifest = {
    kind: 'pomona-backup',
    version: CONTENTS_VERSION,
    createdAt: c.createdAt,
    dialect: c.dialect,
    migrations: c.snapshot.migrations,
    files: Object.fromEntries(Object.entries(c.files).map(([name, bytes]) => [name, bytes.toString('base64')])),
    counts: Object.fromEntries(c.snapshot.tables.map((t) => [t.name, t.rows.length])),
  };
  const chunks = [Buffer.from(JSON.stringify(manifest) + '\n')];
  // Joined a few thousand rows at a time: one string per table would hit V8's string length limit on large fleets.
  for (const { name, rows } of c.snapshot.tables) {
    for (let i = 0; i < rows.length; i += 5000) {
      const lines = rows.slice(i, i + 5000).map((row) => {
        const out: Row = {};
        for (const [k, v] of Object.entries(row)) out[k] = encodeValue(v);
        return JSON.stringify([name, out]) + '\n';
      });
      chunks.push(Buffer.from(lines.join('')));
    }
  }
  return gzipSync(Buffer.concat(chunks));
}

export function decodeContents(gz: Buffer): BackupContents {
  let plain: Buffer;
  try {
    plain = gunzipSync(gz);
  } catch {
    throw new BackupArchiveError('the backup contents are damaged (not gzip)');
  }
  // Line by line from the bytes, never the whole plaintext as one string (V8 caps string length).
  const lines = (function* () {
    for (let start = 0; start < plain.length; ) {
      let end = plain.indexOf(0x0a, start);
      if (end < 0) end = plain.length;
      yield plain.toString('utf8', start, end);
      start = end + 1;
    }
  })();
  let manifest: Manifest;
  try {
    manifest = JSON.parse(lines.next().value ?? '') as Manifest;
  } catch {
    throw new BackupArchiveError('the backup contents are damaged (no manifest)');
  }
  if (manifest?.kind !== 'pomona-backup') throw new BackupArchiveError('the backup contents are damaged (no manifest)');
  if (manifest.version !== CONTENTS_VERSION) throw new BackupArchiveError(`backup contents version ${manifest.version} is not supported (this Pomona reads ${CONTENTS_VERSION})`);
  const byTable = new Map<string, Row[]>(Object.keys(manifest.counts).map((t) => [t, []]));
  for (const line of lines) {
    let parsed: [string, Row];
    try {
      parsed = JSON.parse(line) as [string, Row];
    } catch {
      throw new BackupArchiveError('the backup contents are damaged (a row is not JSON)');
    }
    const [table, row] = parsed;
    const rows = byTable.get(table);
    if (!rows) throw new BackupArchiveError(`the backup contents are damaged (rows for unlisted table ${table})`);
    for (const k of Object.keys(row)) row[k] = decodeValue(row[k]);
    rows.push(row);
  }
  for (const [table, n] of Object.entries(manifest.counts)) {
    if (byTable.get(table)!.length !== n) throw new BackupArchiveError(`the backup contents are damaged (${table}: ${byTable.get(table)!.length} rows, manifest says ${n})`);
  }
  return {
    createdAt: manifest.createdAt,
    dialect: manifest.dialect,
    files: Object.fromEntries(Object.entries(manifest.files).map(([name, b64]) => [name, Buffer.from(b64, 'base64')])),
    snapshot: { migrations: manifest.migrations, tables: orderTables([...byTable.keys()]).map((name) => ({ name, rows: byTable.get(name)! })) },
  };
}
