/**
 * The payloads of the pipeline's queue items: a frame's samples as bytes and back, and the end-of-stream marker.
 *
 * @since 0.1.0
 */

/** A queue item's payload as samples (the manager's payloads are 8-byte aligned views, or copies of their own). */
export const samplesOf = (payload: Uint8Array): Int16Array =>
  new Int16Array(payload.buffer, payload.byteOffset, payload.byteLength >> 1)

export const bytesOf = (samples: Int16Array): Uint8Array =>
  new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength)

export const endOfStream = new Uint8Array(0)
