/**
 * Which Apple platform a device runs, from what the device or Apple's ABM record says about
 * its hardware: the product name of Authenticate (`iPhone17,1`, `Mac16,10`, `iPad13,4`…)
 * or the `device_family` of an ABM device record (`iPhone`, `Mac`, `AppleTV`…).
 */
export const PLATFORMS = ['iOS', 'iPadOS', 'macOS', 'tvOS', 'watchOS', 'visionOS'] as const;
export type Platform = (typeof PLATFORMS)[number];

/** Product-name prefixes, checked in order (`iPad` before anything containing `Mac`). */
const BY_PRODUCT: ReadonlyArray<[RegExp, Platform]> = [
  [/^iPhone/, 'iOS'],
  [/^iPod/, 'iOS'],
  [/^iPad/, 'iPadOS'],
  [/^AppleTV/, 'tvOS'],
  [/^Watch/, 'watchOS'],
  [/^RealityDevice/, 'visionOS'],
  // Mac16,10 · MacBookPro18,3 · iMac21,1 · Macmini9,1 · MacPro7,1 · VirtualMac2,1
  [/Mac/, 'macOS'],
];

export function platformOfProduct(productName: string | null | undefined): Platform | null {
  if (!productName) return null;
  return BY_PRODUCT.find(([re]) => re.test(productName))?.[1] ?? null;
}

/** ABM's device_family values for each platform (Apple's DEP device records). */
export const ABM_FAMILIES: Readonly<Record<Platform, readonly string[]>> = {
  iOS: ['iPhone', 'iPod'],
  iPadOS: ['iPad'],
  macOS: ['Mac'],
  tvOS: ['AppleTV'],
  watchOS: ['Watch'],
  visionOS: ['Vision'],
};

export function platformOfAbmFamily(family: string | null | undefined): Platform | null {
  if (!family) return null;
  return PLATFORMS.find((p) => ABM_FAMILIES[p].includes(family)) ?? null;
}
