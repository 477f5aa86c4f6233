/**
 * WireGuard's protocol constants (whitepaper §5 and §6; wireguard-go `device/constants.go` and
 * `device/noise-protocol.go`). Spec values only: tunables live with the parts that use them.
 */
export const CONSTRUCTION = 'Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s';
export const IDENTIFIER = 'WireGuard v1 zx2c4 Jason@zx2c4.com';
export const LABEL_MAC1 = 'mac1----';
export const LABEL_COOKIE = 'cookie--';

export const MessageType = { initiation: 1, response: 2, cookieReply: 3, transport: 4 } as const;

/** Message sizes and field offsets, in bytes (all integers little-endian). */
export const INITIATION_SIZE = 148;
export const RESPONSE_SIZE = 92;
export const COOKIE_REPLY_SIZE = 64;
export const TRANSPORT_HEADER_SIZE = 16;
export const AEAD_TAG_SIZE = 16;
export const MAC_SIZE = 16;
export const KEY_SIZE = 32;
export const TAI64N_SIZE = 12;

/** Timers, in milliseconds. */
export const REJECT_AFTER_TIME = 180_000;
export const REKEY_TIMEOUT = 5_000;
export const KEEPALIVE_TIMEOUT = 10_000;
export const COOKIE_REFRESH_TIME = 120_000;
/** At most one initiation per peer per this interval is consumed (wireguard-go: 1 s / 50). */
export const HANDSHAKE_INITIATION_RATE = 20;

/** Counters: a key pair is never used past REJECT_AFTER_MESSAGES (2^64 - 2^13 - 1). */
export const REJECT_AFTER_MESSAGES = (1n << 64n) - (1n << 13n) - 1n;
