/**
 * How Apple's device record is kept: the text fields Pomona filters and sorts on live in their
 * own columns, and `apple_json` holds everything else Apple sent (dates as Apple wrote them,
 * v10 fields, anything new). Joining the two gives back every field — without storing the
 * common ones twice, which would make a 100,000-device sync write half as much again.
 */
export const VERBATIM = ['model', 'description', 'color', 'asset_tag', 'os', 'device_family', 'profile_status', 'profile_uuid', 'device_assigned_by', 'op_type'] as const;

/**
 * A column holds Apple's string exactly when it is a non-empty string of at most 1000 characters
 * without NUL (PostgreSQL text cannot hold one); anything else stays in apple_json, escaped.
 */
export const columnValue = (v: unknown): string | null => (typeof v === 'string' && v !== '' && v.length <= 1000 && !v.includes('\0') ? v : null);

/** Apple's fields that are not kept verbatim in a column, as JSON. */
export function extrasJson(d: Record<string, unknown>): string {
  const extras: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(d)) {
    if (k === 'serial_number' || ((VERBATIM as readonly string[]).includes(k) && columnValue(v) !== null)) continue;
    extras[k] = v;
  }
  return JSON.stringify(extras);
}

/** Every field of Apple's latest record for the device. */
export function appleRecord(row: { serial_number: string; apple_json: string } & { [K in (typeof VERBATIM)[number]]: string | null }): Record<string, unknown> {
  const out: Record<string, unknown> = { serial_number: row.serial_number };
  for (const k of VERBATIM) if (row[k] !== null) out[k] = row[k];
  return { ...out, ...(JSON.parse(row.apple_json) as Record<string, unknown>) };
}
