/** The store's change signal: this process's writes at once, another connection's commits through the data_version watch. */
import { describe, expect, it } from 'vitest';
import { openStore, type StoreChange } from '../../gateway/store/index.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';
import { eventually } from '../transport/helpers.ts';

const tempDir = useTempDirs('store-changes');

function collect(store: ReturnType<typeof openStore>): StoreChange[] {
  const changes: StoreChange[] = [];
  store.changes.subscribe((change) => changes.push(change));
  return changes;
}

describe('store changes', () => {
  it('tells this process’s writes at once: added, rotated (changed) and removed devices, accounts and keys', () => {
    const store = openStore(tempDir());
    try {
      const changes = collect(store);
      store.devices.add('kitchen-1');
      store.devices.rotateToken('kitchen-1');
      store.devices.remove('kitchen-1');
      store.services.add('homeassistant');
      store.services.rotateToken('homeassistant');
      const key = store.apiKeys.create('ci');
      store.apiKeys.revoke(key.record.id);
      store.devices.touch('nobody'); // not a registry change
      expect(changes.map((c) => c.devices)).toEqual([
        { added: ['kitchen-1'], removed: [], changed: [] },
        { added: [], removed: [], changed: ['kitchen-1'] },
        { added: [], removed: ['kitchen-1'], changed: [] },
        ...Array(4).fill({ added: [], removed: [], changed: [] }),
      ]);
      expect(changes.slice(3, 5).map((c) => c.services)).toEqual([
        { added: ['homeassistant'], removed: [], changed: [] },
        { added: [], removed: [], changed: ['homeassistant'] },
      ]);
      expect(changes.slice(5).map((c) => c.apiKeys)).toEqual([
        { added: [key.record.id], removed: [], changed: [] },
        { added: [], removed: [key.record.id], changed: [] },
      ]);
    } finally {
      store.close();
    }
  });

  it('notices another connection’s commits through watch(), and only then', async () => {
    const dataDir = tempDir();
    const gateway = openStore(dataDir);
    const cli = openStore(dataDir);
    try {
      const changes = collect(gateway);
      const devices = gateway.devices;
      const seen: string[] = [];
      devices.onChange((c) => seen.push(`${c.type} ${c.id}`));
      cli.devices.add('desk-2');
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(changes).toEqual([]); // not watched yet
      const stop = gateway.changes.watch(50);
      await eventually(() => changes.length === 1, 'the CLI device noticed');
      expect(changes[0]!.devices.added).toEqual(['desk-2']);
      cli.devices.remove('desk-2');
      await eventually(() => changes.length === 2, 'the removal noticed');
      expect(seen).toEqual(['added desk-2', 'removed desk-2']);
      stop();
      cli.devices.add('late');
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(changes).toHaveLength(2);
    } finally {
      cli.close();
      gateway.close();
    }
  });

  it('keeps telling the others when one listener throws, and a listener may write', () => {
    const store = openStore(tempDir());
    try {
      store.changes.subscribe(() => {
        throw new Error('buggy subscriber');
      });
      const changes = collect(store);
      store.changes.subscribe(({ devices }) => {
        if (devices.added.includes('a')) store.devices.add('b'); // e.g. pairing reacting to a change
      });
      store.devices.add('a');
      expect(changes.map((c) => c.devices.added)).toEqual([['a'], ['b']]);
    } finally {
      store.close();
    }
  });
});
