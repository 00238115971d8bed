/**
 * The current date and time in the gateway's time zone: models do not know what time
 * it is, and "what time is it?" is one of the first things people ask a wearable.
 */
import type { Tool } from '../tools.ts';

export const DATETIME_TOOL_NAME = 'get_current_datetime';

export interface DateTimeToolOptions {
  /** IANA time zone (config `timeZone`). */
  timeZone: string;
  now?: () => Date;
}

function part(parts: Intl.DateTimeFormatPart[], type: Intl.DateTimeFormatPartTypes): string {
  return parts.find((p) => p.type === type)?.value ?? '';
}

/** "+01:00" for a zone at a moment ("GMT" alone means +00:00). */
function utcOffset(date: Date, timeZone: string): string {
  const name = part(new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' }).formatToParts(date), 'timeZoneName');
  const match = name.match(/GMT([+-]\d{2}):?(\d{2})?/);
  return match ? `${match[1]}:${match[2] ?? '00'}` : '+00:00';
}

/** What the tool reports: local date and time, weekday, zone, and an ISO timestamp with offset. */
export function describeDateTime(date: Date, timeZone: string): Record<string, string> {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(date);
  const iso = `${part(parts, 'year')}-${part(parts, 'month')}-${part(parts, 'day')}T${part(parts, 'hour')}:${part(parts, 'minute')}:${part(parts, 'second')}${utcOffset(date, timeZone)}`;
  return {
    date: new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' }).format(date),
    // Some ICU versions put a narrow no-break space before AM/PM.
    time: new Intl.DateTimeFormat('en-US', { timeZone, hour: 'numeric', minute: '2-digit' }).format(date).replace(/\s/g, ' '),
    time24h: `${part(parts, 'hour')}:${part(parts, 'minute')}`,
    timeZone,
    iso,
  };
}

export function createDateTimeTool(options: DateTimeToolOptions): Tool {
  const now = options.now ?? (() => new Date());
  // Fails at startup, not at the first question, when the zone is unknown.
  new Intl.DateTimeFormat('en', { timeZone: options.timeZone });
  return {
    name: DATETIME_TOOL_NAME,
    description: 'Get the current local date, day of the week and time where the user is. Use it whenever the answer depends on today\'s date or the time.',
    parameters: { type: 'object', properties: {}, additionalProperties: false },
    sideEffects: false,
    execute: () => JSON.stringify(describeDateTime(now(), options.timeZone)),
  };
}
