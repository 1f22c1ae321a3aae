/**
 * Managed Apple Accounts (Managed Apple IDs) as user enrollment needs them: the `user@domain`
 * identifier a person types in Settings (account-driven enrollment starts from it) and the one
 * the enrollment profile assigns (`AssignedManagedAppleID`). Pure functions, no I/O.
 */

/** The identifier a device sends, and the one we assign: `user@fqdn`, split at the last `@` as Apple's client does. */
export function parseManagedAppleId(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length < 3 || value.length > 254) return undefined;
  // Whitespace, control characters, quotes and angle brackets have no place in an account name
  // and would only make trouble in HTML, headers and logs.
  if (/[\s\u0000-\u001f\u007f"'<>\\]/.test(value)) return undefined;
  const at = value.lastIndexOf('@');
  if (at <= 0 || value.indexOf('@') !== at) return undefined;
  const domain = value.slice(at + 1);
  return isFqdn(domain) ? value : undefined;
}

/** A fully qualified domain name: dot-separated labels of letters, digits and hyphens, at least two. */
function isFqdn(domain: string): boolean {
  if (domain.length > 253) return false;
  const labels = domain.split('.');
  return labels.length >= 2 && labels.every((l) => /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l)) && !/^\d+$/.test(labels.at(-1)!);
}

/** Two spellings of one account: Apple treats the identifier case-insensitively. */
export function sameManagedAppleId(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/**
 * The Managed Apple Account a user enrolls with: the one an admin set, else — for a user who
 * came from a directory or SSO provider, where accounts are usually federated with the same
 * address — their e-mail address. Local users get none by default: their e-mail is often a
 * personal address, and assigning it would make the device's sign-in fail.
 */
export function managedAppleIdOf(user: { source: string; email: string | null; managedAppleId: string | null }): string | undefined {
  if (user.managedAppleId) return user.managedAppleId;
  if (user.source !== 'local' && user.email) return parseManagedAppleId(user.email);
  return undefined;
}
