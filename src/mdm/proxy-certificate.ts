/**
 * The client certificate as a TLS-terminating proxy forwards it: RFC 9440 `:base64-DER:`,
 * a URL-escaped PEM (nginx `$ssl_client_escaped_cert`), or a plain PEM/base64 DER.
 * Only read when the admin configured the header, i.e. when the proxy is trusted.
 */
export function certificateFromProxyHeader(value: string | string[] | undefined): Buffer | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  let text = v.trim();
  const rfc9440 = /^:([A-Za-z0-9+/=]+):$/.exec(text);
  if (rfc9440) return nonEmpty(Buffer.from(rfc9440[1], 'base64'));
  if (text.includes('%')) {
    try {
      text = decodeURIComponent(text);
    } catch {
      return undefined;
    }
  }
  const pem = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(text);
  if (pem) return nonEmpty(Buffer.from(pem[1].replace(/\s+/g, ''), 'base64'));
  if (/^[A-Za-z0-9+/=\s]+$/.test(text)) return nonEmpty(Buffer.from(text.replace(/\s+/g, ''), 'base64'));
  return undefined;
}

function nonEmpty(b: Buffer): Buffer | undefined {
  return b.length > 0 ? b : undefined;
}
