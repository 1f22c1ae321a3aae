import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, skipUnlessAvailable, testDatabaseKinds, type TestDatabase } from '../../test/support/db.js';
import { FLEET_NOW, insertAbmDevice, insertAbmServer, insertDevice, insertGroup } from '../../test/support/fleet.js';
import { InventoryError, InventoryService, type InventoryQuery } from './inventory-service.js';
import { InventoryStore } from './inventory-store.js';

/**
 * A small fleet covering every way a device shows up:
 *   ABM only: A-REG (registered), A-PUSH (profile pushed: enrolling), A-GONE (deleted from ABM: removed), N-REG (server without a group)
 *   both: A-ENR (enrolled), A-LEFT (unenrolled and deleted from ABM: removed)
 *   devices only: M-ING (enrolling), M-UN (unenrolled), M-RET (retired), two user enrollments without a serial
 */
async function seed(db: TestDatabase['db']) {
  await insertGroup(db, { id: 'acme', parentId: 'global', name: 'Acme' });
  await insertGroup(db, { id: 'lyon', parentId: 'acme', name: 'Lyon', code: 'ACME-LYS' });
  await insertGroup(db, { id: 'beta', parentId: 'global', name: 'Beta' });
  await insertAbmServer(db, { id: 'srv-acme', groupId: 'acme' });
  await insertAbmServer(db, { id: 'srv-none', groupId: null });
  await insertDevice(db, { id: 'd-enr', serial: 'A-ENR', groupId: 'lyon', state: 'enrolled', ownership: 'corporate-dedicated', platform: 'iOS', productName: 'iPhone17,1', channel: 'active' });
  await insertDevice(db, { id: 'd-left', serial: 'A-LEFT', groupId: 'acme', state: 'unenrolled', ownership: 'corporate-dedicated', platform: 'iOS', channel: 'removed' });
  await insertDevice(db, { id: 'd-un', serial: 'M-UN', groupId: 'beta', state: 'unenrolled', ownership: 'employee-owned', platform: 'macOS', channel: 'removed' });
  await insertDevice(db, { id: 'd-ing', serial: 'M-ING', groupId: 'lyon', state: 'enrolling', platform: 'iPadOS', channel: 'pending' });
  await insertDevice(db, { id: 'd-ret', serial: 'M-RET', state: 'removed', ownership: 'corporate-shared', platform: 'iPadOS' });
  await insertDevice(db, { id: 'd-byod1', serial: null, groupId: 'beta', state: 'enrolled', ownership: 'employee-owned', platform: 'iOS', channel: 'active' });
  await insertDevice(db, { id: 'd-byod2', serial: null, groupId: 'beta', state: 'enrolled', ownership: 'employee-owned', platform: 'iOS', channel: 'active' });
  await insertAbmDevice(db, { serial: 'A-REG', serverId: 'srv-acme', family: 'iPhone', model: 'iPhone 16' });
  await insertAbmDevice(db, { serial: 'A-PUSH', serverId: 'srv-acme', family: 'iPad', profileStatus: 'pushed' });
  await insertAbmDevice(db, { serial: 'A-GONE', serverId: 'srv-acme', family: 'Mac', removedAt: FLEET_NOW + 10 });
  await insertAbmDevice(db, { serial: 'A-ENR', serverId: 'srv-acme', family: 'iPhone', deviceId: 'd-enr' });
  await insertAbmDevice(db, { serial: 'A-LEFT', serverId: 'srv-acme', family: 'iPhone', removedAt: FLEET_NOW + 20, deviceId: 'd-left' });
  await insertAbmDevice(db, { serial: 'N-REG', serverId: 'srv-none', family: 'AppleTV' });
}

/** Every device in list order: user enrollments (no serial) by id, then by serial number. */
const ALL = ['d-byod1', 'd-byod2', 'A-ENR', 'A-GONE', 'A-LEFT', 'A-PUSH', 'A-REG', 'M-ING', 'M-RET', 'M-UN', 'N-REG'];

describe.each(testDatabaseKinds)('device list and lifecycle summary (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let db: TestDatabase;
    let inventory: InventoryService;
    const list = (q: Partial<InventoryQuery> = {}) => inventory.list({ limit: 50, offset: 0, ...q });
    /** each device named by its serial number, or its id when it has none */
    const names = async (q: Partial<InventoryQuery> = {}) => (await list(q)).devices.map((d) => d.serialNumber ?? d.id);
    const refusal = async (q: Partial<InventoryQuery>) => {
      const err = await list(q).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(InventoryError);
      return (err as InventoryError).message;
    };

    beforeAll(async () => {
      db = await createTestDatabase(kind);
      await seed(db.db);
      inventory = new InventoryService(new InventoryStore(db.db));
    });
    afterAll(() => db?.dispose());

    it('lists device rows and ABM-only records together, each with its lifecycle state', async () => {
      const { devices, total, nextCursor } = await list();
      expect(total).toBe(ALL.length);
      expect(nextCursor).toBeNull();
      expect(devices.map((d) => d.serialNumber ?? d.id)).toEqual(ALL);
      const state = Object.fromEntries(devices.map((d) => [d.serialNumber ?? d.id, d.lifecycleState]));
      expect(state).toEqual({
        'd-byod1': 'enrolled', 'd-byod2': 'enrolled', 'A-ENR': 'enrolled', 'A-GONE': 'removed', 'A-LEFT': 'removed', 'A-PUSH': 'enrolling',
        'A-REG': 'registered', 'M-ING': 'enrolling', 'M-RET': 'removed', 'M-UN': 'unenrolled', 'N-REG': 'registered',
      });
      const byName = new Map(devices.map((d) => [d.serialNumber ?? d.id, d]));
      expect(byName.get('A-REG')).toMatchObject({ id: null, organizationGroupId: 'acme', platform: 'iOS', modelName: 'iPhone 16', abmServerId: 'srv-acme', abmStatus: 'in-abm', ownership: null, enrollmentStatus: null });
      expect(byName.get('N-REG')).toMatchObject({ organizationGroupId: 'global', platform: 'tvOS' });
      expect(byName.get('A-ENR')).toMatchObject({ id: 'd-enr', organizationGroupId: 'lyon', abmStatus: 'in-abm', enrollmentStatus: 'active', registrationTokenStatus: 'not applicable' });
      // Unenrolled, then deleted from ABM: removed, as of the deletion.
      expect(byName.get('A-LEFT')).toMatchObject({ id: 'd-left', abmStatus: 'removed-from-abm', lifecycleChangedAt: FLEET_NOW + 20 });
      expect(byName.get('M-UN')).toMatchObject({ abmStatus: null, lifecycleChangedAt: FLEET_NOW });
      expect(await inventory.one('d-left')).toMatchObject({ lifecycleState: 'removed', enrollmentStatus: 'removed' });
    });

    it('filters a group with its whole subtree, by id or Group ID, ABM-only devices by their server\'s group', async () => {
      expect(await names({ group: 'acme' })).toEqual(['A-ENR', 'A-GONE', 'A-LEFT', 'A-PUSH', 'A-REG', 'M-ING']);
      expect(await names({ group: 'acme-lys' })).toEqual(['A-ENR', 'M-ING']);
      expect(await names({ group: 'global' })).toEqual(ALL);
      expect((await list({ group: 'beta' })).total).toBe(3);
      // An admin's scope arrives as one more path every device must lie under.
      expect(await names({ withinPaths: ['/global/acme/'], group: 'beta' })).toEqual([]);
      expect(await names({ withinPaths: ['/global/acme/lyon/'] })).toEqual(['A-ENR', 'M-ING']);
    });

    it('filters by lifecycle state, ownership, platform, model and text', async () => {
      expect(await names({ lifecycle: ['registered'] })).toEqual(['A-REG', 'N-REG']);
      expect(await names({ lifecycle: ['enrolling'] })).toEqual(['A-PUSH', 'M-ING']);
      expect(await names({ lifecycle: ['unenrolled'] })).toEqual(['M-UN']);
      expect(await names({ lifecycle: ['removed'] })).toEqual(['A-GONE', 'A-LEFT', 'M-RET']);
      expect(await names({ lifecycle: ['unenrolled,removed'] })).toEqual(['A-GONE', 'A-LEFT', 'M-RET', 'M-UN']);
      expect(await names({ lifecycle: ['enrolled', 'registered'], group: 'acme' })).toEqual(['A-ENR', 'A-REG']);
      expect(await names({ ownership: ['employee-owned'] })).toEqual(['d-byod1', 'd-byod2', 'M-UN']);
      expect(await names({ ownership: ['corporate-shared', 'corporate-dedicated'], lifecycle: ['removed'] })).toEqual(['A-LEFT', 'M-RET']);
      expect(await names({ platform: ['iPadOS'] })).toEqual(['A-PUSH', 'M-ING', 'M-RET']);
      expect(await names({ platform: ['macOS', 'tvOS'] })).toEqual(['A-GONE', 'M-UN', 'N-REG']);
      expect(await names({ model: 'IPHONE17,1' })).toEqual(['A-ENR']);
      expect(await names({ model: 'iphone 16' })).toEqual(['A-REG']);
      expect(await names({ q: 'a-p' })).toEqual(['A-PUSH']);
      expect(await names({ q: 'byod2 NAME' })).toEqual(['d-byod2']);
      expect(await names({ q: '%' })).toEqual([]);
      expect(await names({ serial: 'A-LEFT' })).toEqual(['A-LEFT']);
      expect(await names({ status: 'pending' })).toEqual(['A-PUSH', 'M-ING']);
      expect(await names({ status: 'removed', lifecycle: ['unenrolled'] })).toEqual(['M-UN']);
    });

    it('filters by how the devices enrolled (ABM records never match: they have not enrolled)', async () => {
      await db.db.updateTable('devices').set({ enrollment_method: 'ade-webview' }).where('id', 'in', ['d-enr', 'd-ing']).execute();
      await db.db.updateTable('devices').set({ enrollment_method: 'user-profile' }).where('id', '=', 'd-byod2').execute();
      try {
        expect(await names({ enrollmentMethod: ['ade-webview'] })).toEqual(['A-ENR', 'M-ING']);
        expect(await names({ enrollmentMethod: ['ade-webview,user-profile'], group: 'lyon' })).toEqual(['A-ENR', 'M-ING']);
        expect(await names({ enrollmentMethod: ['user-profile', 'web'] })).toEqual(['d-byod2']);
        expect((await list({ enrollmentMethod: ['ade-webview'], lifecycle: ['enrolled'] })).total).toBe(1);
        expect(await refusal({ enrollmentMethod: ['mail'] })).toMatch(/^unknown enrollment method "mail"; use web, user-profile/);
      } finally {
        await db.db.updateTable('devices').set({ enrollment_method: null }).execute();
      }
    });

    it('pages by offset and by cursor through both kinds of device, in the same order', async () => {
      for (const limit of [1, 2, 3, 4]) {
        const byOffset: string[] = [];
        for (let offset = 0; offset < ALL.length; offset += limit) {
          const page = await list({ limit, offset });
          expect(page.total).toBe(ALL.length);
          byOffset.push(...page.devices.map((d) => d.serialNumber ?? d.id!));
        }
        expect(byOffset).toEqual(ALL);
        const byCursor: string[] = [];
        let cursor: string | undefined;
        for (let i = 0; i < ALL.length; i++) {
          const page = await list({ limit, cursor });
          byCursor.push(...page.devices.map((d) => d.serialNumber ?? d.id!));
          if (!page.nextCursor) break;
          cursor = page.nextCursor;
        }
        expect(byCursor, `limit ${limit}`).toEqual(ALL);
      }
      const filtered = await list({ lifecycle: ['removed'], limit: 2 });
      expect(filtered.devices.map((d) => d.serialNumber)).toEqual(['A-GONE', 'A-LEFT']);
      expect((await list({ lifecycle: ['removed'], limit: 2, cursor: filtered.nextCursor! })).devices.map((d) => d.serialNumber)).toEqual(['M-RET']);
      expect((await list({ offset: 100 })).devices).toEqual([]);
    });

    it('refuses unknown filter values with the values that exist', async () => {
      expect(await refusal({ lifecycle: ['enrolled,retired'] })).toBe('unknown lifecycle state "retired"; use registered, enrolling, enrolled, unenrolled, removed');
      expect(await refusal({ ownership: ['mine'] })).toBe('unknown ownership "mine"; use corporate-dedicated, corporate-shared, employee-owned');
      expect(await refusal({ platform: ['Android'] })).toMatch(/^unknown platform "Android"; use iOS, iPadOS, macOS/);
      expect(await refusal({ group: 'nowhere' })).toMatch(/^unknown organization group "nowhere"/);
      expect(await refusal({ cursor: 'not-a-cursor' })).toMatch(/cursor is not one this list returned/);
      expect(await refusal({ cursor: Buffer.from('[null,null]').toString('base64url') })).toMatch(/cursor/);
      expect(await refusal({ cursor: (await list({ limit: 1 })).nextCursor!, offset: 5 })).toBe('give either a cursor or an offset, not both');
    });

    it('counts each lifecycle state per group and per subtree, ABM devices not enrolled yet included', async () => {
      const groups = await inventory.summary({});
      expect(groups.map((g) => g.id)).toEqual(['global', 'acme', 'beta', 'lyon']);
      const by = new Map(groups.map((g) => [g.id, g]));
      expect(by.get('global')!.subtree).toEqual({ registered: 2, enrolling: 2, enrolled: 3, unenrolled: 1, removed: 3, total: 11 });
      expect(by.get('global')!.here).toEqual({ registered: 1, enrolling: 0, enrolled: 0, unenrolled: 0, removed: 1, total: 2 });
      expect(by.get('acme')!.here).toEqual({ registered: 1, enrolling: 1, enrolled: 0, unenrolled: 0, removed: 2, total: 4 });
      expect(by.get('acme')!.subtree).toEqual({ registered: 1, enrolling: 2, enrolled: 1, unenrolled: 0, removed: 2, total: 6 });
      expect(by.get('beta')!.subtree).toMatchObject({ enrolled: 2, unenrolled: 1, total: 3 });
      const acmeOnly = await inventory.summary({ group: 'ACME' });
      expect(acmeOnly.map((g) => g.id)).toEqual(['acme', 'lyon']);
      expect((await inventory.summary({ withinPaths: ['/global/beta/'] })).map((g) => g.id)).toEqual(['beta']);
      await expect(inventory.summary({ group: 'nowhere' })).rejects.toThrow(InventoryError);
    });
  });
});
