import { describe, expect, it } from 'vitest';
import { demoFleet } from './demo-fleet.js';

describe('demo fleet', () => {
  it('covers every case in its first six devices', () => {
    expect(demoFleet(6).map((d) => `${d.family}/${d.profile}/${d.expect}`)).toEqual([
      'iPhone/phones/enrolled', 'iPad/signIn/enrolled', 'Mac/macs/enrolled', 'iPhone/phones/updated', 'iPhone/phones/refused', 'iPhone/signIn/enrolled',
    ]);
  });

  it('mixes iPhones, iPads and Macs, with and without sign-in, one refused, serials and UDIDs unique', () => {
    const fleet = demoFleet(25);
    const count = (f: (d: (typeof fleet)[number]) => boolean) => fleet.filter(f).length;
    expect(count((d) => d.family === 'iPhone')).toBeGreaterThan(5);
    expect(count((d) => d.family === 'iPad')).toBeGreaterThan(3);
    expect(count((d) => d.family === 'Mac')).toBeGreaterThan(3);
    expect(count((d) => d.profile === 'signIn')).toBeGreaterThan(3);
    expect(count((d) => d.expect === 'updated')).toBeGreaterThan(1);
    expect(count((d) => d.expect === 'refused')).toBe(1);
    expect(count((d) => d.family === 'Mac' && d.profile !== 'macs')).toBe(0);
    expect(new Set(fleet.map((d) => d.serial)).size).toBe(25);
    expect(new Set(fleet.map((d) => d.udid)).size).toBe(25);
    for (const d of fleet) expect(d.serial).toMatch(/^[A-Z]+\d+$/);
    for (const d of fleet) expect(d.serial).toHaveLength(12);
  });
});
