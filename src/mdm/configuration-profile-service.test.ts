import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildPlist } from '../apple/plist.js';
import { OrgGroupService, ROOT_GROUP_ID } from '../org/org-group-service.js';
import { OrgGroupStore } from '../org/org-group-store.js';
import { createTestDatabase, skipUnlessAvailable, testDatabaseKinds, type TestDatabase } from '../../test/support/db.js';
import { refusal } from '../../test/support/thrown.js';
import { ConfigurationProfileService } from './configuration-profile-service.js';
import { ConfigurationProfileStore } from './configuration-profile-store.js';

const mobileconfig = (identifier: string, name = identifier) =>
  Buffer.from(buildPlist({
    PayloadType: 'Configuration', PayloadIdentifier: identifier, PayloadUUID: `${identifier}-uuid`, PayloadVersion: 1, PayloadDisplayName: name,
    PayloadContent: [{ PayloadType: 'com.apple.dock', PayloadIdentifier: `${identifier}.dock`, PayloadUUID: `${identifier}-dock`, PayloadVersion: 1 }],
  }));

describe.each(testDatabaseKinds)('configuration-profile library (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let db: TestDatabase;
    let groups: OrgGroupService;
    let library: ConfigurationProfileService;
    let clock = 1_000;
    const depProfiles = new Set(['dep-1']);

    beforeEach(async () => {
      db = await createTestDatabase(kind);
      groups = new OrgGroupService(new OrgGroupStore(db.db));
      library = new ConfigurationProfileService({
        store: new ConfigurationProfileStore(db.db), groupLineage: (id) => groups.lineage(id), depProfileExists: async (id) => depProfiles.has(id), now: () => clock++,
      });
    });
    afterEach(() => db.dispose());

    it('keeps an upload as sent, named by the admin or the profile, with its facts', async () => {
      const bytes = mobileconfig('com.example.dock', 'Dock');
      const view = await library.upload({ bytes, actor: 'user:ann' });
      expect(view).toMatchObject({ name: 'Dock', payloadIdentifier: 'com.example.dock', displayName: 'Dock', payloadTypes: ['com.apple.dock'], signed: false, size: bytes.length, createdBy: 'user:ann', attachments: [] });
      expect(view.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(await library.payload(view.id)).toEqual(bytes);
      expect((await library.upload({ bytes: mobileconfig('com.example.other'), name: '  Mine ', actor: 'x' })).name).toBe('Mine');
      expect((await library.list()).map((p) => p.name)).toEqual(['Dock', 'Mine']);
    });

    it('refuses files that are not profiles, and a second profile with the same PayloadIdentifier', async () => {
      expect(await refusal(library.upload({ bytes: Buffer.from('<plist>'), actor: 'x' }))).toMatch(/^invalid: the file is not a property list/);
      await library.upload({ bytes: mobileconfig('com.example.dup', 'First'), actor: 'x' });
      expect(await refusal(library.upload({ bytes: mobileconfig('com.example.dup', 'Second'), actor: 'x' }))).toMatch(/^conflict: .*PayloadIdentifier "com.example.dup" \("First"\)/);
      expect(await library.list()).toHaveLength(1);
    });

    it('attaches to DEP profiles and groups that exist, once; detaches; deletes with its attachments', async () => {
      const p = await library.upload({ bytes: mobileconfig('com.example.a'), actor: 'x' });
      expect(await refusal(library.attach(p.id, { depProfileId: 'nope' }, 'x'))).toMatch(/^not_found: no enrollment \(DEP\) profile "nope"/);
      expect(await refusal(library.attach(p.id, { organizationGroupId: 'nope' }, 'x'))).toMatch(/^not_found: no organization group "nope"/);
      expect(await refusal(library.attach('nope', { organizationGroupId: ROOT_GROUP_ID }, 'x'))).toMatch(/^not_found: no such configuration profile/);
      expect(await refusal(library.attach(p.id, {}, 'x'))).toMatch(/^invalid: name exactly one/);
      expect(await refusal(library.attach(p.id, { depProfileId: 'dep-1', organizationGroupId: ROOT_GROUP_ID }, 'x'))).toMatch(/^invalid/);
      await library.attach(p.id, { depProfileId: 'dep-1' }, 'x');
      await library.attach(p.id, { depProfileId: 'dep-1' }, 'x');
      const attached = await library.attach(p.id, { organizationGroupId: ROOT_GROUP_ID }, 'x');
      expect(attached.attachments.map((a) => `${a.kind}:${a.targetId}`)).toEqual(['dep-profile:dep-1', `organization-group:${ROOT_GROUP_ID}`]);
      expect((await library.detach(p.id, 'dep-profile', 'dep-1')).attachments).toHaveLength(1);
      expect(await refusal(library.detach(p.id, 'dep-profile', 'dep-1'))).toMatch(/^not_found: the profile is not attached/);
      await library.delete(p.id);
      expect(await library.applicable({ organizationGroupId: ROOT_GROUP_ID })).toEqual([]);
      expect(await refusal(library.delete(p.id))).toMatch(/^not_found/);
    });

    it('applies the group chain root first, then the DEP profile, each profile once', async () => {
      const acme = await groups.create({ parentId: ROOT_GROUP_ID, name: 'Acme', groupId: 'ACME' });
      const paris = await groups.create({ parentId: acme.id, name: 'Paris', groupId: 'PAR' });
      const berlin = await groups.create({ parentId: acme.id, name: 'Berlin', groupId: 'BER' });
      const up = async (id: string) => (await library.upload({ bytes: mobileconfig(id), actor: 'x' })).id;
      const [wifi, ca, vpn, dock, other] = [await up('wifi'), await up('ca'), await up('vpn'), await up('dock'), await up('berlin')];
      await library.attach(wifi, { depProfileId: 'dep-1' }, 'x'); // attached first, yet applies last
      await library.attach(vpn, { organizationGroupId: paris.id }, 'x');
      await library.attach(ca, { organizationGroupId: ROOT_GROUP_ID }, 'x');
      await library.attach(dock, { organizationGroupId: acme.id }, 'x');
      await library.attach(dock, { depProfileId: 'dep-1' }, 'x'); // already applies through the group
      await library.attach(other, { organizationGroupId: berlin.id }, 'x');
      const names = (list: { name: string }[]) => list.map((p) => p.name);
      expect(names(await library.applicable({ depProfileId: 'dep-1', organizationGroupId: paris.id }))).toEqual(['ca', 'dock', 'vpn', 'wifi']);
      expect(names(await library.applicable({ depProfileId: null, organizationGroupId: berlin.id }))).toEqual(['ca', 'dock', 'berlin']);
      expect(await library.forGroup(paris.id)).toEqual([
        { profileId: ca, name: 'ca', payloadIdentifier: 'ca', attachedTo: { kind: 'organization-group', targetId: ROOT_GROUP_ID } },
        { profileId: dock, name: 'dock', payloadIdentifier: 'dock', attachedTo: { kind: 'organization-group', targetId: acme.id } },
        { profileId: vpn, name: 'vpn', payloadIdentifier: 'vpn', attachedTo: { kind: 'organization-group', targetId: paris.id } },
      ]);
      expect(await refusal(library.forGroup('nope'))).toMatch(/^not_found/);
    });
  });
});
