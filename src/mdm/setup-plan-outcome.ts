/**
 * What a device's answer means for a setup-plan step. Acknowledged succeeds — except Settings,
 * whose answer may be Acknowledged while some items failed (its `Settings` array carries a Status
 * and ErrorChain per item). Error and CommandFormatError fail with Apple's ErrorChain. NotNow
 * decides nothing: the queue offers the command again at the next check-in.
 */
export interface StepError {
  /** Apple's ErrorChain, as the device sent it */
  errorChain?: unknown[];
  /** Settings items that failed: their index in the command, and their ErrorChain */
  settings?: Array<{ index: number; item?: string; errorChain: unknown[] }>;
  /** Pomona's own reason (the step could not be sent) */
  message?: string;
}

export function stepOutcome(requestType: string, status: string, result: Record<string, unknown> | undefined): { outcome?: 'acknowledged' | 'error'; error?: StepError } {
  if (status === 'Acknowledged') {
    if (requestType === 'Settings' && Array.isArray(result?.Settings)) {
      const failed = (result!.Settings as Array<Record<string, unknown>>)
        .map((s, index) => ({ s, index }))
        .filter(({ s }) => s && s.Status === 'Error')
        .map(({ s, index }) => ({ index, ...(typeof s.Item === 'string' && { item: s.Item }), errorChain: Array.isArray(s.ErrorChain) ? (s.ErrorChain as unknown[]) : [] }));
      if (failed.length) return { outcome: 'error', error: { settings: failed } };
    }
    return { outcome: 'acknowledged' };
  }
  if (status === 'Error' || status === 'CommandFormatError') {
    return { outcome: 'error', error: { errorChain: Array.isArray(result?.ErrorChain) ? (result!.ErrorChain as unknown[]) : [], ...(status === 'CommandFormatError' && { message: 'the device could not read the command (CommandFormatError)' }) } };
  }
  return {};
}
