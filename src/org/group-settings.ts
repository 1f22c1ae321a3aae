/**
 * The settings an admin sets at an organization group and its subtree inherits unless a lower
 * group overrides them. Each has a schema (validation and OpenAPI) and the value that applies
 * when no group on the way to the root sets it.
 */
import { Type, type TSchema } from 'typebox';
import { Value } from 'typebox/value';

export const OWNERSHIP = ['corporate-dedicated', 'corporate-shared', 'employee-owned'] as const;
export type Ownership = (typeof OWNERSHIP)[number];

interface SettingSpec {
  schema: TSchema;
  default: unknown;
  describe: string;
}

const Email = Type.String({ maxLength: 254, pattern: '^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$' });

export const GROUP_SETTINGS = {
  'enrollment.userEnrollmentAllowed': {
    schema: Type.Boolean(),
    default: false,
    describe: 'users may enroll their own devices with user enrollment (BYOD)',
  },
  'enrollment.webEnrollmentAllowed': {
    schema: Type.Boolean(),
    default: false,
    describe: 'devices outside ADE may enroll through the enrollment web page',
  },
  'enrollment.authenticationMethods': {
    schema: Type.Array(Type.Union([Type.Literal('local'), Type.Literal('ldap'), Type.Literal('saml'), Type.Literal('oidc'), Type.Literal('registration-token')]), { uniqueItems: true, maxItems: 5 }),
    default: ['local'],
    describe: 'how users sign in to enroll',
  },
  'enrollment.registrationTokenRequired': {
    schema: Type.Boolean(),
    default: false,
    describe: 'enrollment needs a registration token',
  },
  'enrollment.termsOfUse': {
    schema: Type.Union([Type.Null(), Type.Object({ version: Type.Integer({ minimum: 1 }), text: Type.String({ minLength: 1, maxLength: 100_000 }) }, { additionalProperties: false })]),
    default: null,
    describe: 'terms of use users accept before enrolling (none when null)',
  },
  'enrollment.defaultOwnership': {
    schema: Type.Union(OWNERSHIP.map((o) => Type.Literal(o))),
    default: 'corporate-dedicated',
    describe: 'ownership of devices enrolled into the group unless the enrollment says otherwise',
  },
  'abm.visibleProfiles': {
    schema: Type.Union([Type.Null(), Type.Array(Type.String({ maxLength: 64 }), { maxItems: 1000 })]),
    default: null,
    describe: 'enrollment profiles offered in this subtree (null: every profile of the ABM servers serving it)',
  },
  'alerts.recipients': {
    schema: Type.Array(Email, { maxItems: 100 }),
    default: [],
    describe: 'e-mail addresses that receive alerts for this subtree',
  },
} satisfies Record<string, SettingSpec>;

export type GroupSettingKey = keyof typeof GROUP_SETTINGS;
export const GROUP_SETTING_KEYS = Object.keys(GROUP_SETTINGS) as GroupSettingKey[];

export function isGroupSettingKey(key: string): key is GroupSettingKey {
  return Object.hasOwn(GROUP_SETTINGS, key);
}

/** The problems with a value for a setting, in words an admin reads (empty when valid). */
export function settingProblems(key: GroupSettingKey, value: unknown): string[] {
  const { schema } = GROUP_SETTINGS[key];
  if (Value.Check(schema, value)) return [];
  return [...Value.Errors(schema, value)].slice(0, 5).map((e) => `${key}${e.instancePath ?? ''}: ${e.message}`);
}
