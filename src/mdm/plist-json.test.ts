import { describe, expect, it } from 'vitest';
import { plistJson } from './plist-json.js';

describe('plistJson', () => {
  it('writes data as base64, dates as ISO strings, everything else as JSON does', () => {
    const bytes = Buffer.from('hello');
    const view = new Uint8Array([0, 1, 2, 3, 4, 5]).subarray(2, 5);
    const value = {
      Status: 'Acknowledged', Count: 3, Ratio: 0.5, On: true,
      Token: bytes, View: view, When: new Date('2026-11-21T08:00:00.123Z'),
      List: [bytes, { Inner: new Date(0), Text: 'é "quoted" \n' }],
    };
    expect(JSON.parse(plistJson(value))).toEqual({
      Status: 'Acknowledged', Count: 3, Ratio: 0.5, On: true,
      Token: 'aGVsbG8=', View: Buffer.from([2, 3, 4]).toString('base64'), When: '2026-11-21T08:00:00.123Z',
      List: ['aGVsbG8=', { Inner: '1970-01-01T00:00:00.000Z', Text: 'é "quoted" \n' }],
    });
    expect(plistJson(bytes)).toBe('"aGVsbG8="');
  });
});
