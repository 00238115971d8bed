import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StoreConversationMemory, type ConversationStore } from '../../gateway/brain/memory.ts';
import { openStore, type Store } from '../../gateway/store/index.ts';
import { InMemoryConversationStore } from '../fakes/in-memory-conversation-store.ts';

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 10, 21, 12, 0, 0);

interface Subject {
  store: ConversationStore;
  addTurn(deviceId: string, startedAt: number, transcript: string, reply: string): void;
  close(): void;
}

function inMemory(): Subject {
  const store = new InMemoryConversationStore();
  return { store, addTurn: (deviceId, startedAt, transcript, reply) => store.add({ deviceId, startedAt, transcript, reply }), close() {} };
}

function sqlite(): Subject {
  const dir = mkdtempSync(path.join(tmpdir(), 'voxgate-memory-'));
  const store: Store = openStore(dir, { now: () => T0 - 100 * MINUTE });
  let turn = 0;
  return {
    store,
    addTurn(deviceId, startedAt, transcript, reply) {
      if (!store.devices.get(deviceId)) store.devices.add(deviceId);
      store.turns.recordTurn({ deviceId, turn: ++turn, kind: 'audio', startedAt, endedAt: startedAt + 1000, transcript, reply, timings: {}, outcome: 'completed' });
    },
    close() {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

for (const [name, make] of [
  ['in-memory store', inMemory],
  ['SQLite store (gateway/store)', sqlite],
] as const) {
  describe(`StoreConversationMemory over the ${name}`, () => {
    let subject: Subject;
    afterEach(() => subject?.close());

    it('gives the conversation as user/assistant pairs, oldest first', () => {
      subject = make();
      subject.addTurn('dev1', T0 - 3 * MINUTE, 'What is the capital of France?', 'Paris.');
      subject.addTurn('dev1', T0 - 2 * MINUTE, 'And of Italy?', 'Rome.');
      subject.addTurn('dev2', T0 - 2 * MINUTE, 'Other device', 'Not yours.');
      const memory = new StoreConversationMemory(subject.store, { now: () => T0 });
      expect(memory.recent('dev1')).toEqual([
        { role: 'user', content: 'What is the capital of France?' },
        { role: 'assistant', content: 'Paris.' },
        { role: 'user', content: 'And of Italy?' },
        { role: 'assistant', content: 'Rome.' },
      ]);
    });

    it('keeps only the last N turns', () => {
      subject = make();
      for (let i = 0; i < 6; i++) subject.addTurn('dev1', T0 - (10 - i) * MINUTE, `q${i}`, `a${i}`);
      const memory = new StoreConversationMemory(subject.store, { turns: 2, now: () => T0 });
      expect(memory.recent('dev1').map((m) => m.content)).toEqual(['q4', 'a4', 'q5', 'a5']);
      expect(new StoreConversationMemory(subject.store, { turns: 0, now: () => T0 }).recent('dev1')).toEqual([]);
    });

    it('forgets turns older than the time window', () => {
      subject = make();
      subject.addTurn('dev1', T0 - 90 * MINUTE, 'old question', 'old answer');
      subject.addTurn('dev1', T0 - 30 * MINUTE, 'recent question', 'recent answer');
      const memory = new StoreConversationMemory(subject.store, { windowMinutes: 60, now: () => T0 });
      expect(memory.recent('dev1').map((m) => m.content)).toEqual(['recent question', 'recent answer']);
    });

    it('reset starts a new conversation for that device only', () => {
      subject = make();
      subject.addTurn('dev1', T0 - 5 * MINUTE, 'before reset', 'yes');
      subject.addTurn('dev2', T0 - 5 * MINUTE, 'other device', 'kept');
      let now = T0;
      const memory = new StoreConversationMemory(subject.store, { now: () => now });
      memory.reset('dev1');
      expect(memory.recent('dev1')).toEqual([]);
      expect(memory.recent('dev2').map((m) => m.content)).toEqual(['other device', 'kept']);
      now = T0 + MINUTE;
      subject.addTurn('dev1', T0 + 30_000, 'after reset', 'new');
      expect(memory.recent('dev1').map((m) => m.content)).toEqual(['after reset', 'new']);
    });

    it('leaves out questions that got no spoken answer, keeps a partly spoken (barged-in) reply', () => {
      subject = make();
      subject.addTurn('dev1', T0 - 3 * MINUTE, 'failed question', '');
      subject.addTurn('dev1', T0 - 2 * MINUTE, 'tell me a story', 'Once upon a time,');
      subject.addTurn('dev1', T0 - MINUTE, '', '');
      const memory = new StoreConversationMemory(subject.store, { now: () => T0 });
      expect(memory.recent('dev1')).toEqual([
        { role: 'user', content: 'tell me a story' },
        { role: 'assistant', content: 'Once upon a time,' },
      ]);
    });
  });
}

describe('memory survives a restart (SQLite)', () => {
  it('a reopened store still holds the conversation', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'voxgate-memory-'));
    try {
      const first = openStore(dir, { now: () => T0 - 100 * MINUTE });
      first.devices.add('dev1');
      first.turns.recordTurn({ deviceId: 'dev1', turn: 1, kind: 'text', startedAt: T0 - MINUTE, endedAt: T0, transcript: 'hello', reply: 'Hi there.', timings: {}, outcome: 'completed' });
      first.close();
      const second = openStore(dir);
      const memory = new StoreConversationMemory(second, { now: () => T0 });
      expect(memory.recent('dev1').map((m) => m.content)).toEqual(['hello', 'Hi there.']);
      second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
