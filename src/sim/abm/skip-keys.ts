/**
 * Skip keys Apple documents (apple/device-management `other/skipkeys.yaml`, seed iOS 18.2,
 * 46 keys) plus `UnlockWithWatch`, which Fleet sends for macOS and the YAML lacks. Apple's
 * reaction to an unknown key is undocumented, so by default the simulator accepts unknown keys
 * and only records a warning; `strictSkipKeys` turns them into a 400.
 */
export const KNOWN_SKIP_KEYS: ReadonlySet<string> = new Set([
  'Accessibility', 'ActionButton', 'Android', 'Appearance', 'AppleID', 'AppStore', 'Biometric', 'CameraButton',
  'DeviceToDeviceMigration', 'Diagnostics', 'DisplayTone', 'EnableLockdownMode', 'FileVault', 'HomeButtonSensitivity',
  'iCloudDiagnostics', 'iCloudStorage', 'iMessageAndFaceTime', 'Intelligence', 'Keyboard', 'Location',
  'MessagingActivationUsingPhoneNumber', 'OnBoarding', 'Passcode', 'Payment', 'Privacy', 'Restore', 'RestoreCompleted',
  'ScreenSaver', 'Safety', 'ScreenTime', 'SIMSetup', 'Siri', 'SoftwareUpdate', 'SpokenLanguage', 'TapToSetup',
  'TermsOfAddress', 'TOS', 'TVHomeScreenSync', 'TVProviderSignIn', 'TVRoom', 'UpdateCompleted', 'Wallpaper',
  'WatchMigration', 'WebContentFiltering', 'Welcome', 'Zoom',
  'UnlockWithWatch',
]);
