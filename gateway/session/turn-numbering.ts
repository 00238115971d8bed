/**
 * Turn ids of one session. A device may number its turns (`listen start.turn`); otherwise
 * the gateway numbers them, counting on from the last id either side used. Announcements
 * have their own count, from the top of the uint32 range downwards, so their ids never
 * meet a device's own numbering (which counts up from small numbers).
 */

/** Largest turn id (uint32); gateway numbering wraps past it. */
const MAX_TURN_ID = 0xffff_ffff;
/** Device turn ids remembered to recognise a repeated `listen start` (MQTT QoS 1 may redeliver). */
const RECENT_TURN_IDS = 16;
const FIRST_ANNOUNCEMENT_TURN_ID = MAX_TURN_ID;
const LAST_ANNOUNCEMENT_TURN_ID = 0x8000_0000;

export class TurnNumbering {
  private nextTurnId = 1;
  private nextAnnouncementId = FIRST_ANNOUNCEMENT_TURN_ID;
  private readonly recentDeviceIds: number[] = [];

  /** True when the device already started a turn with this number: a redelivered start, not a new turn. */
  isRepeat(deviceTurnId: number): boolean {
    return this.recentDeviceIds.includes(deviceTurnId);
  }

  /** Forgets the device's turn ids (it started afresh): its next ones are new turns even where they repeat. */
  forgetDeviceTurns(): void {
    this.recentDeviceIds.length = 0;
  }

  /** The id of a new listening or text turn: the device's own number (remembered), else the gateway's next. */
  next(deviceTurnId: number | undefined): number {
    const turnId = deviceTurnId ?? this.nextTurnId;
    this.nextTurnId = turnId >= MAX_TURN_ID ? 1 : turnId + 1;
    if (deviceTurnId !== undefined) {
      this.recentDeviceIds.push(deviceTurnId);
      if (this.recentDeviceIds.length > RECENT_TURN_IDS) this.recentDeviceIds.shift();
    }
    return turnId;
  }

  /** The id of a new announcement (a reply-only turn the gateway starts). */
  nextAnnouncement(): number {
    const id = this.nextAnnouncementId;
    this.nextAnnouncementId = id <= LAST_ANNOUNCEMENT_TURN_ID ? FIRST_ANNOUNCEMENT_TURN_ID : id - 1;
    return id;
  }
}
