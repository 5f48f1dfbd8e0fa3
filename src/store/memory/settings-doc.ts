// A queue's stored settings as the embedded stores keep them: a meta document per queue, so the
// file store's log and checkpoints carry them like any other document, and a reopen finds them.
import type { QueueSettings } from '../contract.ts';
import { defaultQueueSettings } from '../contract.ts';

/** Meta documents under this prefix are queue settings: `listMeta` leaves them out. */
export const settingsPrefix = 'queue-settings/';

export function settingsDoc(queue: string): string {
  return settingsPrefix + queue;
}

/** JSON has no Infinity (maxAttempts, retention): it is written as the string 'inf'. */
export function encodeSettings(settings: QueueSettings): string {
  return JSON.stringify(settings, (_key, value: unknown) => (value === Infinity ? 'inf' : value));
}

export function decodeSettings(text: string): QueueSettings {
  const parsed = JSON.parse(text, (_key, value: unknown) => (value === 'inf' ? Infinity : value)) as QueueSettings;
  // A document written before a setting existed gets its default.
  return Object.freeze({ ...defaultQueueSettings, ...parsed });
}
