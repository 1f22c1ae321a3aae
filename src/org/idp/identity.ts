/**
 * What an identity provider (local, LDAP, SAML, OIDC) tells Pomona about a person after a
 * successful sign-in. Group names feed the mapping from user groups to organization groups.
 */
export interface Identity {
  /** the provider's configured id in Pomona */
  provider: string;
  /** stable identifier at the provider (LDAP DN or entryUUID, SAML NameID, OIDC sub) */
  subject: string;
  /** the name the user signs in with (short name) */
  username: string;
  email?: string;
  displayName?: string;
  /** group names (LDAP cn of groups / SAML group attribute values / OIDC groups claim) */
  groups: string[];
}

/** A sign-in that failed for a reason the user may see; `reason` is for logs and audit only. */
export class SignInError extends Error {
  constructor(
    /** shown to the user: never says whether the user exists */
    message: string,
    readonly reason: string,
  ) {
    super(message);
  }
}
