/**
 * Device tool names made valid for the LLM API (`^[a-zA-Z0-9_-]{1,64}$`) and mapped back
 * exactly: `self.audio_speaker.set_volume` is offered as `self_audio_speaker_set_volume`, and
 * a call of that name goes to the device as `self.audio_speaker.set_volume`. Two names that
 * clean up alike get numbered suffixes, so the mapping stays one to one.
 */

const MAX_NAME = 64;

export class ToolNameMap {
  private readonly toDevice = new Map<string, string>();
  private readonly toModel = new Map<string, string>();

  /** The model's name for a device tool (the same one each time it is asked). */
  add(deviceName: string): string {
    const known = this.toModel.get(deviceName);
    if (known) return known;
    const base = deviceName.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, MAX_NAME) || 'tool';
    let name = base;
    for (let n = 2; this.toDevice.has(name); n++) {
      const suffix = `_${n}`;
      name = `${base.slice(0, MAX_NAME - suffix.length)}${suffix}`;
    }
    this.toDevice.set(name, deviceName);
    this.toModel.set(deviceName, name);
    return name;
  }

  /** The device's own name for a name the model used; undefined for a name it was never given. */
  deviceName(modelName: string): string | undefined {
    return this.toDevice.get(modelName);
  }

  /** Rewrites device tool names mentioned in a description to the names the model sees. */
  rewrite(text: string): string {
    let out = text;
    // Longest first, so `self.a.b` is not half-replaced by `self.a`.
    for (const [device, model] of [...this.toModel].sort((a, b) => b[0].length - a[0].length)) out = out.split(device).join(model);
    return out;
  }
}
