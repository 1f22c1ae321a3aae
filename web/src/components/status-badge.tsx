/** A state worked out in words and colour (token, profile at Apple…), as a badge with its hint on hover. */
import { Badge, type Tone } from './ui';

export interface Status {
  tone: Tone;
  label: string;
  /** what it means or what to do, shown on hover */
  hint?: string;
}

export function StatusBadge({ status }: { status: Status }) {
  return (
    <Badge tone={status.tone} title={status.hint}>
      {status.label}
    </Badge>
  );
}
