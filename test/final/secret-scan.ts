/**
 * Looks for recorded secrets in log files: each secret as written, as it reads inside a JSON
 * string (a PEM's newlines, a quote, a backslash escaped) and percent-encoded in a URL. One pass over each file whatever the
 * number of secrets: candidates are looked up by the text at every position (a window as long as
 * the shortest needle), so thousands of secrets cost what one does.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface RecordedSecret {
  kind: string;
  value: string;
}

export interface Leak {
  kind: string;
  file: string;
}

/** The secrets a run recorded (test/support/test-run.ts), once each. */
export function readSecrets(dir: string): RecordedSecret[] {
  const byValue = new Map<string, RecordedSecret>();
  for (const f of listFiles(dir)) {
    for (const line of readFileSync(f, 'utf8').split('\n')) {
      if (!line) continue;
      const s = JSON.parse(line) as RecordedSecret;
      if (!byValue.has(s.value)) byValue.set(s.value, s);
    }
  }
  return [...byValue.values()];
}

export function listFiles(dir: string): string[] {
  try {
    return readdirSync(dir).sort().map((f) => join(dir, f));
  } catch {
    return [];
  }
}

/** Every (kind, file) where a secret occurs; `minLength`: shorter secrets are not looked for (they would match by chance). */
export function findLeaks(files: string[], secrets: RecordedSecret[], minLength = 8): Leak[] {
  const needles = new Map<string, RecordedSecret>();
  for (const s of secrets) {
    if (s.value.length < minLength) continue;
    needles.set(s.value, s);
    needles.set(JSON.stringify(s.value).slice(1, -1), s);
    needles.set(encodeURIComponent(s.value), s);
  }
  const byWindow = new Map<string, string[]>();
  for (const n of needles.keys()) {
    const w = n.slice(0, minLength);
    const list = byWindow.get(w);
    if (list) list.push(n);
    else byWindow.set(w, [n]);
  }
  const leaks: Leak[] = [];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const found = new Set<RecordedSecret>();
    for (let i = 0; i + minLength <= text.length; i++) {
      const candidates = byWindow.get(text.slice(i, i + minLength));
      if (!candidates) continue;
      for (const n of candidates) if (text.startsWith(n, i)) found.add(needles.get(n)!);
    }
    for (const s of found) leaks.push({ kind: s.kind, file });
  }
  return leaks;
}
