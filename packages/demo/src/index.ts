/**
 * The demo's building blocks: frames, the WAV reader and writer, voice activity detection and the fault spec. The
 * executable is `src/bin.ts`; its wiring lives in `src/internal/`.
 *
 * @since 0.1.0
 */

/**
 * Parsing the `--faults` specification into a plain list of rules.
 *
 * @since 0.1.0
 */
export * as FaultSpec from "./FaultSpec.js"

/**
 * Frames: 480 samples per channel with a sequence number, the unit that moves through the pipeline.
 *
 * @since 0.1.0
 */
export * as Frame from "./Frame.js"

/**
 * Energy-based voice activity detection with hysteresis, one frame at a time, with a serialisable state.
 *
 * @since 0.1.0
 */
export * as Vad from "./Vad.js"

/**
 * Reading and validating a 16-bit PCM WAV input, and streaming its frames from disk.
 *
 * @since 0.1.0
 */
export * as WavInput from "./WavInput.js"

/**
 * Writing one channel as a WAV file, idempotent by frame sequence number, finalised even when interrupted.
 *
 * @since 0.1.0
 */
export * as WavWriter from "./WavWriter.js"
