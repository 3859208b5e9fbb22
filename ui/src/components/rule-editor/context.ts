import type { Camera, Device, RuleSummary, Scene } from '@hearth/model/api';
import { createContext } from 'preact';
import { useContext, useEffect, useState } from 'preact/hooks';
import { api } from '../../api/client.ts';

/** What the pickers choose from, and the hub's last answer to a save (shown at its field). */
export interface EditorRefs {
  devices: Device[];
  scenes: { id: string; name: string }[];
  cameras: { id: string; name: string }[];
  rules: { id: string; name: string }[];
  /** `details.path` of a refused save, e.g. `triggers.0.for`, with the hub's message. */
  error: { path: string; message: string } | null;
}

export const RefsContext = createContext<EditorRefs>({ devices: [], scenes: [], cameras: [], rules: [], error: null });

export const useRefs = (): EditorRefs => useContext(RefsContext);

/** The hub's message when it names exactly `path`, else undefined. */
export function useErrorAt(path: string): string | undefined {
  const { error } = useRefs();
  return error && error.path === path ? error.message : undefined;
}

type Named = { id: string; name: string };

/**
 * Scenes, cameras and rules for the pickers, loaded once per editor. Each may fail on its own
 * (no recorder, no permission): that picker then offers only the id already in the rule.
 */
export function usePickLists(): Pick<EditorRefs, 'scenes' | 'cameras' | 'rules'> {
  const [lists, setLists] = useState<Pick<EditorRefs, 'scenes' | 'cameras' | 'rules'>>({
    scenes: [],
    cameras: [],
    rules: [],
  });
  useEffect(() => {
    let live = true;
    const get = (path: string) =>
      api<(Scene | Camera | RuleSummary)[]>('GET', path).then(
        (l) => l.map(({ id, name }) => ({ id, name })),
        () => [] as Named[],
      );
    void Promise.all([get('/scenes'), get('/cameras'), get('/rules')]).then(([scenes, cameras, rules]) => {
      if (live) setLists({ scenes, cameras, rules });
    });
    return () => {
      live = false;
    };
  }, []);
  return lists;
}
