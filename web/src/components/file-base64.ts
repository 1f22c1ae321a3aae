/** A chosen file's bytes as base64, for API fields that carry a file (a certificate, a package). */
export async function fileBase64(file: File): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let s = '';
  // In slices: one String.fromCharCode(...all) overflows the call stack on a large file.
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}
