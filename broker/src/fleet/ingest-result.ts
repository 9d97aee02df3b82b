// What ingest did with one device message, named once for both sides of the thread boundary: the store writes these
// results, the thread moves them to the main thread in an Int32Array, and ingest acknowledges by them.
/** A result is a count of samples newly stored (0 for a stored message of another kind), or one of these codes. */
export type MessageResult = number;

/** Stored before (the same samples, or the same message id): acknowledged, nothing written. */
export const DUPLICATE: MessageResult = -1;
/** Failed validation: acknowledged so the device stops resending it, counted in ingest_rejects, never stored. */
export const REJECTED: MessageResult = -2;
