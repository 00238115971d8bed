/**
 * A gate on the speech work Wyoming clients start (transcriptions, syntheses), in the
 * manner of the HTTP API's SpeechJobGate: at most `limit` at once, the rest refused at
 * once (`busy`) rather than queued, so Home Assistant can never take the engines away from
 * the wearables that share them.
 */
export class JobSlots {
  private used = 0;

  constructor(readonly limit: number) {}

  get active(): number {
    return this.used;
  }

  /** A release function when a slot is free (calling it twice frees one slot only), else undefined. */
  tryAcquire(): (() => void) | undefined {
    if (this.used >= this.limit) return undefined;
    this.used++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used--;
    };
  }
}
