/**
 * Protocol version history. Bump when either side must change behaviour; the server refuses
 * agents older than MIN_SUPPORTED and tells them so.
 *
 * 1 (2026-11): join with pre-auth keys, machine-key request proofs, map stream with deltas.
 */
export const PROTOCOL_VERSION = 1;
export const MIN_SUPPORTED_PROTOCOL_VERSION = 1;
