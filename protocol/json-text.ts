/**
 * JSON text that encodes a known wire type. The map stream writes its messages from parts
 * serialized once and shared (a peer's record, a filter template, the relay settings), so a
 * message is text put together, not one object stringified; these types make the compiler check
 * that every part encodes the field it fills, and that the message has every field its type
 * requires. A text is made only by `jsonText` (JSON.stringify of a value of the type), by the
 * combinators here, or by a writer whose equality to JSON.stringify a test holds.
 */
declare const encodes: unique symbol;

export type JsonText<T> = string & { readonly [encodes]: T };

export const jsonText = <T>(value: T): JsonText<T> => JSON.stringify(value) as JsonText<T>;

export const jsonArray = <T>(items: readonly JsonText<T>[]): JsonText<T[]> => `[${items.join(',')}]` as JsonText<T[]>;

/** Each field of T as the text of its value; optional fields may be left out. */
export type JsonFields<T> = { [K in keyof T]: JsonText<Exclude<T[K], undefined>> };

/** An object's text from its fields' texts, in the order given (`type` first, by convention). */
export function jsonObject<T extends object>(fields: JsonFields<T>): JsonText<T> {
  let out = '';
  for (const [key, value] of Object.entries(fields) as Array<[string, string | undefined]>) {
    if (value !== undefined) out += `${out === '' ? '' : ','}${JSON.stringify(key)}:${value}`;
  }
  return `{${out}}` as JsonText<T>;
}
