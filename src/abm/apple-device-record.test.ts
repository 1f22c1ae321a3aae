import { describe, expect, it } from 'vitest';
import { appleRecord, columnValue, extrasJson, VERBATIM } from './apple-device-record.js';

describe('Apple device record split across columns and apple_json', () => {
  it('gives back every field Apple sent', () => {
    const d = {
      serial_number: 'C02XK1ZZJG5H', model: 'MacBook Pro', description: 'MBP 14', color: 'SPACE GRAY', asset_tag: '', os: 'OSX', device_family: 'Mac',
      profile_status: 'assigned', profile_uuid: 'ABC', profile_assign_time: '2026-01-02T03:04:05Z', device_assigned_by: 'a@example.com', op_type: 'added',
      op_date: '2026-01-02T03:04:05Z', imei: ['1', '2'], is_replacement_device: false, future_field: { x: 1 },
    };
    const columns = Object.fromEntries(VERBATIM.map((k) => [k, columnValue((d as Record<string, unknown>)[k])])) as Record<(typeof VERBATIM)[number], string | null>;
    const json = extrasJson(d);
    expect(JSON.parse(json)).not.toHaveProperty('model');
    expect(JSON.parse(json)).toHaveProperty('asset_tag', ''); // not representable in a column: kept as sent
    expect(appleRecord({ serial_number: d.serial_number, apple_json: json, ...columns })).toEqual(d);
  });

  it('keeps a value with NUL out of the columns (PostgreSQL text cannot hold it)', () => {
    expect(columnValue('TAG\u0000X')).toBeNull();
    expect(JSON.parse(extrasJson({ serial_number: 'S', asset_tag: 'TAG\u0000X' }))).toEqual({ asset_tag: 'TAG\u0000X' });
  });
});
