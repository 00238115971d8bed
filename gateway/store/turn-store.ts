/** The turns each device has had: an audit trail and the source of the LLM's conversation memory. */
import type { SqliteDatabase } from './database.ts';
import { StoreError } from './errors.ts';
import type { TurnRecord, TurnRecorder, TurnTimings } from './types.ts';

/** A listing nobody asked to size: enough for a screen, small enough to stay cheap. */
export const DEFAULT_TURN_LIST_LIMIT = 50;
/** Past this a listing is a bulk export, which this API is not meant for. */
export const MAX_TURN_LIST_LIMIT = 1_000;
/** Conversation memory default: ten exchanges keeps prompts short and replies on topic. */
export const DEFAULT_CONVERSATION_TURNS = 10;

interface TurnRow {
  device_id: string;
  turn: number;
  kind: string;
  started_at: number;
  ended_at: number;
  transcript: string;
  reply: string;
  timings: string;
  outcome: string;
  error_code: string | null;
}

const TURN_COLUMNS = 'device_id, turn, kind, started_at, ended_at, transcript, reply, timings, outcome, error_code';

function toRecord(row: TurnRow): TurnRecord {
  const record: TurnRecord = {
    deviceId: row.device_id,
    turn: row.turn,
    kind: row.kind as TurnRecord['kind'],
    startedAt: row.started_at,
    endedAt: row.ended_at,
    transcript: row.transcript,
    reply: row.reply,
    timings: JSON.parse(row.timings) as TurnTimings,
    outcome: row.outcome as TurnRecord['outcome'],
  };
  if (row.error_code !== null) record.errorCode = row.error_code;
  return record;
}

function checkLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_TURN_LIST_LIMIT) {
    throw new StoreError('invalid_argument', `limit must be an integer from 1 to ${MAX_TURN_LIST_LIMIT}, got ${limit}`);
  }
  return limit;
}

export interface ListTurnsOptions {
  limit?: number;
}

export interface RecentConversationOptions {
  /** At most this many turns: the latest ones. */
  limit?: number;
  /** Ignore turns that started before this time (epoch ms), e.g. a memory window. */
  sinceMs?: number;
}

export class TurnStore implements TurnRecorder {
  private readonly statements;

  constructor(db: SqliteDatabase) {
    this.statements = {
      // Inserts nothing when the device was removed while its turn was running:
      // a late turn of a deleted device is not worth a foreign-key error in a session.
      insert: db.prepare(
        `INSERT INTO turns (${TURN_COLUMNS})
         SELECT @deviceId, @turn, @kind, @startedAt, @endedAt, @transcript, @reply, @timings, @outcome, @errorCode
         WHERE EXISTS (SELECT 1 FROM devices WHERE id = @deviceId)`,
      ),
      newest: db.prepare<[string, number], TurnRow>(
        `SELECT ${TURN_COLUMNS} FROM turns WHERE device_id = ? ORDER BY started_at DESC, id DESC LIMIT ?`,
      ),
      prune: db.prepare<[number, number]>(`DELETE FROM turns WHERE id IN (SELECT id FROM turns WHERE started_at < ? LIMIT ?)`),
      conversation: db.prepare<{ deviceId: string; sinceMs: number; limit: number }, TurnRow>(
        `SELECT ${TURN_COLUMNS} FROM turns
         WHERE device_id = @deviceId
           AND started_at >= max(@sinceMs, (SELECT conversation_started_at FROM devices WHERE id = @deviceId))
           AND transcript <> ''
         ORDER BY started_at DESC, id DESC
         LIMIT @limit`,
      ),
    };
  }

  /** Keeps one finished turn. Returns false when its device no longer exists (nothing stored). */
  recordTurn(turn: TurnRecord): boolean {
    const result = this.statements.insert.run({
      deviceId: turn.deviceId,
      turn: turn.turn,
      kind: turn.kind,
      startedAt: turn.startedAt,
      endedAt: turn.endedAt,
      transcript: turn.transcript,
      reply: turn.reply,
      timings: JSON.stringify(turn.timings ?? {}),
      outcome: turn.outcome,
      errorCode: turn.errorCode ?? null,
    });
    return result.changes > 0;
  }

  /** Deletes at most `limit` turns that started before `cutoffMs` (retention); returns how many. */
  pruneStartedBefore(cutoffMs: number, limit: number): number {
    return this.statements.prune.run(cutoffMs, limit).changes;
  }

  /** The device's turns, newest first. */
  listTurns(deviceId: string, options: ListTurnsOptions = {}): TurnRecord[] {
    return this.statements.newest.all(deviceId, checkLimit(options.limit ?? DEFAULT_TURN_LIST_LIMIT)).map(toRecord);
  }

  /**
   * The current conversation for the LLM's memory: the latest `limit` turns that said
   * something (non-empty transcript) and started at or after both `sinceMs` and the
   * device's last conversation reset, oldest first. Unknown device: empty.
   */
  recentConversation(deviceId: string, options: RecentConversationOptions = {}): TurnRecord[] {
    const rows = this.statements.conversation.all({
      deviceId,
      sinceMs: options.sinceMs ?? 0,
      limit: checkLimit(options.limit ?? DEFAULT_CONVERSATION_TURNS),
    });
    return rows.reverse().map(toRecord);
  }
}
