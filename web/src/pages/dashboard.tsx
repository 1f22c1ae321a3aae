// Placeholder until this page is built (issue 6).
import { PageHeader } from '../components/ui';

export function Dashboard(_: { params: Record<string, string> }) {
  return <PageHeader title="Dashboard" />;
}
