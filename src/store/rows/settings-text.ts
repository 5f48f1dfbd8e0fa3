// A queue's settings as the row stores write them in its row (memory/settings-doc.ts's JSON),
// remembered both ways: every call that changes a queue's counts writes the whole row, and a
// JSON round trip of the settings at each was a fiftieth of a lease. Settings objects are
// frozen and replaced, never changed, so one text per object and one object per text hold.
import type { QueueSettings } from '../contract.ts';
import { decodeSettings, encodeSettings } from '../memory/settings-doc.ts';

const texts = new WeakMap<QueueSettings, string>();
const decoded = new Map<string, QueueSettings>();
/** Distinct settings texts remembered at most; past it the memory starts over. */
const maxDecoded = 1000;

export function settingsText(settings: QueueSettings): string {
  let text = texts.get(settings);
  if (text === undefined) {
    text = encodeSettings(settings);
    texts.set(settings, text);
  }
  return text;
}

export function settingsOf(text: string): QueueSettings {
  let settings = decoded.get(text);
  if (settings === undefined) {
    if (decoded.size >= maxDecoded) decoded.clear();
    settings = deepFreeze(decodeSettings(text));
    decoded.set(text, settings);
    texts.set(settings, text);
  }
  return settings;
}

/** One object may now serve several queues and reads: nothing in it may change. */
function deepFreeze<T extends object>(value: T): T {
  for (const inner of Object.values(value)) if (typeof inner === 'object' && inner !== null) deepFreeze(inner);
  return Object.freeze(value);
}
