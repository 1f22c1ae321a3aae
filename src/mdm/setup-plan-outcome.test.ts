import { describe, expect, it } from 'vitest';
import { stepOutcome } from './setup-plan-outcome.js';

const chain = [{ ErrorCode: 4001, ErrorDomain: 'MCProfileErrorDomain', LocalizedDescription: 'nope' }];

describe('stepOutcome', () => {
  it('acknowledges, fails with the ErrorChain, and leaves NotNow undecided', () => {
    expect(stepOutcome('InstallProfile', 'Acknowledged', { Status: 'Acknowledged' })).toEqual({ outcome: 'acknowledged' });
    expect(stepOutcome('InstallProfile', 'Error', { Status: 'Error', ErrorChain: chain })).toEqual({ outcome: 'error', error: { errorChain: chain } });
    expect(stepOutcome('AccountConfiguration', 'Error', undefined)).toEqual({ outcome: 'error', error: { errorChain: [] } });
    expect(stepOutcome('Settings', 'CommandFormatError', {})).toMatchObject({ outcome: 'error', error: { message: expect.stringContaining('CommandFormatError') } });
    expect(stepOutcome('InstallProfile', 'NotNow', { Status: 'NotNow' })).toEqual({});
  });

  it('fails an acknowledged Settings command when one of its items failed', () => {
    const result = { Status: 'Acknowledged', Settings: [{ Status: 'Acknowledged' }, { Item: 'TimeZone', Status: 'Error', ErrorChain: chain }] };
    expect(stepOutcome('Settings', 'Acknowledged', result)).toEqual({ outcome: 'error', error: { settings: [{ index: 1, item: 'TimeZone', errorChain: chain }] } });
    expect(stepOutcome('Settings', 'Acknowledged', { Settings: [{ Status: 'Acknowledged' }] })).toEqual({ outcome: 'acknowledged' });
  });
});
