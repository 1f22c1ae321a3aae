/**
 * Plist values as JSON text: data as base64 strings, dates as ISO strings. Written by
 * JSON.stringify with a replacer rather than through a converted copy of the tree: every
 * command result goes through here.
 */
export function plistJson(v: unknown): string {
  return JSON.stringify(v, function (this: Record<string, unknown>, key: string, value: unknown) {
    // `value` has been through toJSON already (a Buffer's is {type, data}); look at the original.
    const original = this[key];
    if (original instanceof Uint8Array) return Buffer.from(original.buffer, original.byteOffset, original.byteLength).toString('base64');
    return value; // a Date's toJSON is its ISO string
  });
}
