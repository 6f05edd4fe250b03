/** Bounds on the shape of a JSON text, checked before it is parsed. */
export interface JsonShapeLimits {
  /** Deepest nesting of arrays and objects (the top-level value is depth 1). */
  maxDepth: number;
  /** Array elements plus object members, all levels together. */
  maxValues: number;
  /** Object members (keys), all objects together: each distinct key costs JSON.parse far more than a value. */
  maxKeys: number;
}

/** Why a JSON text is over its limits, or null when it is within them. */
export type JsonShapeViolation = { kind: 'depth' | 'values' | 'keys'; limit: number } | null;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;
const CLOSE_ARRAY = 0x5d;
const CLOSE_OBJECT = 0x7d;

/**
 * One pass over the raw bytes, skipping string contents, that bounds nesting depth and the
 * number of values and of keys before JSON.parse builds them: JSON.parse and the schema then only ever see
 * bodies whose cost is bounded by these limits. Values are counted by their separators (one per
 * comma, one per non-empty container), so the count is exact for valid JSON; malformed text is
 * left for JSON.parse to refuse. UTF-8 never reuses these ASCII bytes inside a multi-byte
 * character, so scanning bytes is safe.
 */
export function checkJsonShape(body: Uint8Array, limits: JsonShapeLimits): JsonShapeViolation {
  let depth = 0;
  let values = 0;
  let keys = 0;
  let justOpened = false;
  const n = body.length;
  for (let i = 0; i < n; i++) {
    const c = body[i]!;
    if (c === QUOTE) {
      // Skip to the closing quote; a backslash escapes the next byte, whatever it is.
      for (i++; i < n; i++) {
        const s = body[i]!;
        if (s === BACKSLASH) i++;
        else if (s === QUOTE) break;
      }
      if (justOpened) values++;
      justOpened = false;
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (justOpened) values++;
      if (++depth > limits.maxDepth) return { kind: 'depth', limit: limits.maxDepth };
      justOpened = true;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      depth--;
      justOpened = false;
    } else if (c === COMMA) {
      if (++values > limits.maxValues) return { kind: 'values', limit: limits.maxValues };
    } else if (c === COLON) {
      // Outside strings a colon only ever follows a key: one per object member.
      if (++keys > limits.maxKeys) return { kind: 'keys', limit: limits.maxKeys };
    } else if (justOpened && c > 0x20) {
      // The first element of a container that is a number, true, false or null.
      values++;
      justOpened = false;
    }
    if (values > limits.maxValues) return { kind: 'values', limit: limits.maxValues };
  }
  return null;
}
