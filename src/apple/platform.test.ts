import { describe, expect, it } from 'vitest';
import { platformOfAbmFamily, platformOfProduct } from './platform.js';

describe('platform', () => {
  it('reads the platform from a product name', () => {
    expect(platformOfProduct('iPhone17,1')).toBe('iOS');
    expect(platformOfProduct('iPod9,1')).toBe('iOS');
    expect(platformOfProduct('iPad13,4')).toBe('iPadOS');
    for (const mac of ['Mac16,10', 'MacBookPro18,3', 'iMac21,1', 'Macmini9,1', 'VirtualMac2,1']) expect(platformOfProduct(mac)).toBe('macOS');
    expect(platformOfProduct('AppleTV14,1')).toBe('tvOS');
    expect(platformOfProduct('Watch7,1')).toBe('watchOS');
    expect(platformOfProduct('RealityDevice14,1')).toBe('visionOS');
    expect(platformOfProduct('Toaster1,1')).toBeNull();
    expect(platformOfProduct(undefined)).toBeNull();
  });

  it('reads the platform from an ABM device family', () => {
    expect(platformOfAbmFamily('iPhone')).toBe('iOS');
    expect(platformOfAbmFamily('iPad')).toBe('iPadOS');
    expect(platformOfAbmFamily('Mac')).toBe('macOS');
    expect(platformOfAbmFamily('AppleTV')).toBe('tvOS');
    expect(platformOfAbmFamily('Vision')).toBe('visionOS');
    expect(platformOfAbmFamily('Fridge')).toBeNull();
    expect(platformOfAbmFamily(null)).toBeNull();
  });
});
