// Azure's encodings that no engine implements (int8, uint8, binary, ubinary), computed from float
// vectors. Scalar types assume unit-normalised embeddings (components in [-1, 1], as engines return
// by default); the bit types pack one sign bit per dimension, most significant bit first, eight to a byte.

const clamp = (v: number) => (v > 1 ? 1 : v < -1 ? -1 : v);

export function toInt8(vector: readonly number[]): number[] {
  return vector.map((v) => Math.round(clamp(v) * 127));
}

export function toUint8(vector: readonly number[]): number[] {
  return vector.map((v) => Math.round(((clamp(v) + 1) / 2) * 255));
}

/** Packed sign bits as unsigned bytes; a trailing partial byte is zero-padded. */
export function toUbinary(vector: readonly number[]): number[] {
  const out = new Array<number>(Math.ceil(vector.length / 8)).fill(0);
  vector.forEach((v, i) => {
    if (v > 0) out[i >> 3]! |= 0x80 >> (i & 7);
  });
  return out;
}

/** Packed sign bits as signed bytes (the unsigned byte minus 128). */
export function toBinary(vector: readonly number[]): number[] {
  return toUbinary(vector).map((b) => b - 128);
}

/** Little-endian float32 bytes, base64: what OpenAI and engines return for `encoding_format: base64`. */
export function toBase64(vector: readonly number[]): string {
  return Buffer.from(new Float32Array(vector).buffer).toString("base64");
}

export function fromBase64(text: string): number[] {
  const bytes = Buffer.from(text, "base64");
  return Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2));
}
