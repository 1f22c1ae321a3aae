/**
 * Loads data for a page and reloads it on demand or when its inputs change. A newer load wins
 * over an older one still in flight, so quick filter changes never show stale rows.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { messageOf } from '../api/client';

export interface Loaded<T> {
  data: T | undefined;
  error: string | undefined;
  loading: boolean;
  reload(): Promise<void>;
}

export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<string>();
  const [loading, setLoading] = useState(true);
  const latest = useRef(0);
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const run = useCallback(load, deps);

  const reload = useCallback(async () => {
    const n = ++latest.current;
    setLoading(true);
    try {
      const value = await run();
      if (n === latest.current) {
        setData(value);
        setError(undefined);
      }
    } catch (err) {
      if (n === latest.current) setError(messageOf(err));
    } finally {
      if (n === latest.current) setLoading(false);
    }
  }, [run]);

  useEffect(() => {
    void reload();
  }, [reload]);

  return { data, error, loading, reload };
}

/** Runs `fn` every `ms` while `active` (progress of a sync, a bulk job…). */
export function usePoll(fn: () => void, ms: number, active: boolean): void {
  const saved = useRef(fn);
  saved.current = fn;
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => saved.current(), ms);
    return () => clearInterval(t);
  }, [ms, active]);
}
