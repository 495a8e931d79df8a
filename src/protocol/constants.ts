/**
 * FOS/2 protocol words and limits, in one place (docs/protocol.md is their description).
 */

/** The protocol version a HELLO names. */
export const PROTOCOL_VERSION = 2;

/** The seed's greeting, sent by the server first, without a line ending (legacy clients print it). */
export const GREETING = "AUTH REQUIRED. SEND 'USERNAME:PASSWORD'";

/** The prefix of a FOS/2 client's first line. Usernames hold no spaces, so legacy logins never match. */
export const HELLO_PREFIX = 'HELLO ';

/** First byte of a binary data frame. 0xFD never starts a UTF-8 text line. */
export const FRAME_MARKER = 0xfd;

/** Data frame header: marker (1), flags (1), payload length (4, big-endian). */
export const FRAME_HEADER_BYTES = 6;

/** Data frame flag: the payload is gzip-compressed. */
export const FLAG_GZIP = 0x01;

/** Data frame flag: the payload is brotli-compressed (HELLO `compress` holds `br`). */
export const FLAG_BROTLI = 0x02;

/** Compression methods a HELLO may name, best first. */
export const COMPRESSION = { brotli: 'br', gzip: 'gzip' } as const;

/**
 * Brotli quality for data frames. Measured on 1 MiB chunks of log text: quality 3 packs to
 * 23 % (rsync -z, zstd, to 24 %) at about twice gzip -6's speed; 4 and up cost far more
 * time for a point or two, 1 and 2 lose to rsync -z on bytes.
 */
export const BROTLI_QUALITY = 3;

/** Request verbs (client to server). */
export const REQUEST = {
  hello: 'HELLO',
  auth: 'AUTH',
  token: 'TOKEN',
  tokens: 'TOKENS',
  revoke: 'REVOKE',
  upload: 'UPLOAD',
  uploads: 'UPLOADS',
  download: 'DOWNLOAD',
  preview: 'PREVIEW',
  delete: 'DELETE',
  mkdir: 'MKDIR',
  move: 'MOVE',
  stat: 'STAT',
  list: 'LIST',
  watch: 'WATCH',
  trash: 'TRASH',
  restore: 'RESTORE',
  hold: 'HOLD',
  held: 'HELD',
  approve: 'APPROVE',
  reject: 'REJECT',
  blocks: 'BLOCKS',
  quit: 'QUIT',
} as const;

/** Lines a client sends inside a transfer, besides data frames and `EOF`. */
export const TRANSFER_LINE = {
  /** Delta upload: the next bytes are the base version's bytes at the same offset. */
  copy: 'COPY',
} as const;


/** Smallest delta block; a file gets larger blocks when it would have more than MAX_DELTA_BLOCKS. */
export const DELTA_BLOCK_BYTES = 1024 * 1024;

/**
 * Smallest file a delta upload is tried for, and whose block hashes the server records
 * when it is uploaded: below a few blocks, the BLOCKS round trip and the second hash cost
 * about what sending the file does.
 */
export const DELTA_MIN_FILE_BYTES = 4 * 1024 * 1024;

/** Largest delta block a client may ask for. */
export const MAX_DELTA_BLOCK_BYTES = 64 * 1024 * 1024;

/** Most block hashes one `BLOCKS` reply carries (about 1.2 MB of JSON). */
export const MAX_DELTA_BLOCKS = 32_768;

/**
 * Hex digits kept of each block's SHA-256. Block hashes only pick which blocks to copy;
 * the whole file's SHA-256 still decides whether the upload commits, so a collision costs
 * a CHECKSUM and a full upload, never a wrong file.
 */
export const BLOCK_HASH_HEX = 32;

/** Reply heads (server to client), the seed's words where they fit. */
export const REPLY = {
  hello: 'HELLO',
  authOk: 'AUTH SUCCESSFUL',
  ok: 'OK',
  err: 'ERR',
  ready: 'READY TO RECEIVE FILE',
  ack: 'CHUNK RECEIVED',
  sending: 'SENDING',
  entries: 'ENTRIES',
  steps: 'STEPS',
  eof: 'EOF',
  notice: 'NOTICE',
  batch: 'BATCH',
  items: 'ITEMS',
  shutdown: 'SERVER SHUTDOWN',
} as const;

/**
 * Optional features a peer lists in HELLO's `features`; the server answers with those both
 * support. A peer that lists none (an older one) gets none, and the protocol stays as it was.
 */
export const FEATURE = {
  /** `BLOCKS` and delta uploads (`UPLOAD` with `delta`, `COPY` lines). */
  delta: 'delta',
  /** `UPLOADS`: many small files in one request, committed under one revision. */
  uploads: 'uploads',
  /**
   * `UPLOAD` without `sha256`, the hash named by the client's `EOF` instead: the client
   * hashes while it sends rather than reading the whole file once before (issue 8, W1).
   */
  eofHash: 'eof-hash',
} as const;

/** Most features a HELLO may list. */
export const MAX_FEATURES = 32;

/** Most files one `UPLOADS` request carries. */
export const MAX_BATCH_FILES = 256;

/**
 * Most file bytes one `UPLOADS` request carries (and never more than the window): the
 * client sends them without waiting for acknowledgements.
 */
export const MAX_BATCH_BYTES = 4 * 1024 * 1024;

/** The seed's chunk size, and the smallest chunk FOS/2 accepts. */
export const MIN_CHUNK_BYTES = 4 * 1024;

/**
 * Default chunk size. 256 KiB amortises the per-frame work (header, ack, a write call and
 * a hash update) to well under 1 % of the cost of moving the bytes. Measured on a loaded
 * 2-core VM (issue 8), 1 MiB frames cost the receiver more than they save: each frame is
 * assembled in a fresh 1 MiB buffer, and the page faults of those showed as twice the
 * system time of a 1 GiB download. Reads stay large (1 MiB) and are cut into frames.
 */
export const DEFAULT_CHUNK_BYTES = 256 * 1024;

/** Largest chunk size a peer may negotiate. */
export const MAX_CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * Default bytes in flight without an acknowledgement (a sliding window of 16 chunks). A
 * 16 MiB window measured no faster on loopback and raised the receiver's system time.
 */
export const DEFAULT_WINDOW_BYTES = 4 * 1024 * 1024;

/** Largest window a peer may ask for. */
export const MAX_WINDOW_BYTES = 64 * 1024 * 1024;

/** Longest control line the server accepts from a client. */
export const MAX_REQUEST_LINE_BYTES = 64 * 1024;

/** Longest control line a client accepts from the server (ENTRIES batches are larger). */
export const MAX_REPLY_LINE_BYTES = 4 * 1024 * 1024;

/** Largest data frame payload: a full chunk plus gzip's worst-case growth. */
export const MAX_FRAME_BYTES = MAX_CHUNK_BYTES + 64 * 1024;

/** ENTRIES and STEPS lines are cut when their JSON passes this many bytes. */
export const ENTRIES_BATCH_BYTES = 256 * 1024;

/** PREVIEW's default byte count, as in the seed. */
export const DEFAULT_PREVIEW_BYTES = 1024;

/** Largest PREVIEW a client may ask for. */
export const MAX_PREVIEW_BYTES = 1024 * 1024;

/** Most deletions one held batch may hold (a pass holding more is refused whole). */
export const MAX_HELD_ITEMS = 100_000;

/**
 * A HOLD part's item list is cut when its JSON passes this many bytes, so that every part
 * line stays under MAX_REQUEST_LINE_BYTES with room for the other arguments.
 */
export const HOLD_PART_BYTES = 48 * 1024;

/**
 * Most HOLD part lines the server assembles for one request; with the request line limit,
 * this bounds what one connection holds in memory to 32 MiB.
 */
export const MAX_HOLD_PARTS = 512;

/** Sample paths a `BATCH` line carries (`fos deletions list` shows them). */
export const HELD_SAMPLE_PATHS = 3;

/** Most batch ids one `HELD` request may name. */
export const MAX_HELD_IDS = 16;
