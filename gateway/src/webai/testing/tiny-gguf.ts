import { writeFile } from 'node:fs/promises';
import { seededRandom } from '../../testing/seeded-random.js';

/**
 * Writes a tiny but real GGUF v3 language model for tests: llama architecture, a couple of layers,
 * seeded random F32 weights, and a SentencePiece ("llama") vocabulary with byte-fallback tokens,
 * ChatML control tokens and a ChatML chat template, so that llama.cpp loads, tokenizes, applies
 * the chat template and generates from it through exactly the code paths a real model takes.
 * It writes nonsense, of course; tests assert on mechanics (tokens, streaming, cancellation),
 * never on what it says.
 *
 * Written from the GGUF spec (ggml docs/gguf.md): header, metadata key/values, tensor infos,
 * padding to `general.alignment`, tensor data (each tensor aligned).
 */

const ALIGNMENT = 32;

/** GGUF metadata value types (spec: gguf_metadata_value_type). */
const enum ValueType {
  Uint32 = 4,
  Int32 = 5,
  Float32 = 6,
  Bool = 7,
  String = 8,
  Array = 9,
}

/** ggml tensor types used here (spec: ggml_type). */
const GGML_TYPE_F32 = 0;

type MetadataValue =
  | { type: 'u32'; value: number }
  | { type: 'f32'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'strings'; value: string[] }
  | { type: 'f32s'; value: number[] }
  | { type: 'i32s'; value: number[] };

interface Tensor {
  name: string;
  /** ne[0] first: the innermost (contiguous) dimension, as ggml counts them. */
  dims: number[];
  data: Float32Array;
}

/** A growable little-endian byte buffer. */
class ByteWriter {
  private buffer = Buffer.alloc(1 << 16);
  length = 0;

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const next = Buffer.alloc(Math.max(this.buffer.length * 2, this.length + bytes));
    this.buffer.copy(next, 0, 0, this.length);
    this.buffer = next;
  }
  u32(value: number): void {
    this.reserve(4);
    this.length = this.buffer.writeUInt32LE(value, this.length);
  }
  i32(value: number): void {
    this.reserve(4);
    this.length = this.buffer.writeInt32LE(value, this.length);
  }
  u64(value: number): void {
    this.reserve(8);
    this.length = this.buffer.writeBigUInt64LE(BigInt(value), this.length);
  }
  f32(value: number): void {
    this.reserve(4);
    this.length = this.buffer.writeFloatLE(value, this.length);
  }
  u8(value: number): void {
    this.reserve(1);
    this.length = this.buffer.writeUInt8(value, this.length);
  }
  string(text: string): void {
    const bytes = Buffer.from(text, 'utf8');
    this.u64(bytes.length);
    this.bytes(bytes);
  }
  bytes(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
  }
  padTo(alignment: number): void {
    const pad = (alignment - (this.length % alignment)) % alignment;
    this.reserve(pad);
    this.buffer.fill(0, this.length, this.length + pad);
    this.length += pad;
  }
  result(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}

function writeValue(out: ByteWriter, entry: MetadataValue): void {
  switch (entry.type) {
    case 'u32':
      out.u32(ValueType.Uint32);
      out.u32(entry.value);
      return;
    case 'f32':
      out.u32(ValueType.Float32);
      out.f32(entry.value);
      return;
    case 'bool':
      out.u32(ValueType.Bool);
      out.u8(entry.value ? 1 : 0);
      return;
    case 'string':
      out.u32(ValueType.String);
      out.string(entry.value);
      return;
    case 'strings':
      out.u32(ValueType.Array);
      out.u32(ValueType.String);
      out.u64(entry.value.length);
      for (const text of entry.value) out.string(text);
      return;
    case 'f32s':
      out.u32(ValueType.Array);
      out.u32(ValueType.Float32);
      out.u64(entry.value.length);
      for (const value of entry.value) out.f32(value);
      return;
    case 'i32s':
      out.u32(ValueType.Array);
      out.u32(ValueType.Int32);
      out.u64(entry.value.length);
      for (const value of entry.value) out.i32(value);
      return;
  }
}

/** Serialises metadata and tensors into one GGUF v3 file image. */
export function encodeGguf(metadata: Array<[string, MetadataValue]>, tensors: Tensor[]): Buffer {
  const out = new ByteWriter();
  out.bytes(Buffer.from('GGUF', 'ascii'));
  out.u32(3);
  out.u64(tensors.length);
  out.u64(metadata.length);
  for (const [key, value] of metadata) {
    out.string(key);
    writeValue(out, value);
  }
  let offset = 0;
  const offsets: number[] = [];
  for (const tensor of tensors) {
    const elements = tensor.dims.reduce((product, dim) => product * dim, 1);
    if (elements !== tensor.data.length) throw new Error(`tensor ${tensor.name}: ${tensor.data.length} values for dims ${tensor.dims.join('x')}`);
    out.string(tensor.name);
    out.u32(tensor.dims.length);
    for (const dim of tensor.dims) out.u64(dim);
    out.u32(GGML_TYPE_F32);
    out.u64(offset);
    offsets.push(offset);
    offset += tensor.data.byteLength;
    offset += (ALIGNMENT - (offset % ALIGNMENT)) % ALIGNMENT;
  }
  out.padTo(ALIGNMENT);
  for (const tensor of tensors) {
    out.bytes(new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength));
    out.padTo(ALIGNMENT);
  }
  return out.result();
}

const TOKEN_NORMAL = 1;
const TOKEN_UNKNOWN = 2;
const TOKEN_CONTROL = 3;
const TOKEN_BYTE = 6;

/** A few whole words so that ordinary English tokenizes into more than bytes and letters. */
const WORDS = ['the', 'and', 'of', 'to', 'in', 'is', 'it', 'that', 'for', 'on', 'with', 'as', 'was', 'summary', 'text', 'page', 'hello', 'world', 'model', 'language'];

/** The SentencePiece vocabulary: specials, the 256 byte tokens, then letters and word pieces. */
export function tinyVocabulary(): { tokens: string[]; scores: number[]; types: number[] } {
  const tokens: string[] = [];
  const scores: number[] = [];
  const types: number[] = [];
  const add = (token: string, score: number, type: number) => {
    tokens.push(token);
    scores.push(score);
    types.push(type);
  };
  add('<unk>', 0, TOKEN_UNKNOWN);
  add('<s>', 0, TOKEN_CONTROL);
  add('</s>', 0, TOKEN_CONTROL);
  add('<|im_start|>', 0, TOKEN_CONTROL);
  add('<|im_end|>', 0, TOKEN_CONTROL);
  for (let byte = 0; byte < 256; byte += 1) add(`<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`, 0, TOKEN_BYTE);
  const pieces = new Set<string>(['▁']);
  for (const letter of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?') pieces.add(letter);
  for (const letter of 'abcdefghijklmnopqrstuvwxyz') pieces.add(`▁${letter}`);
  for (const word of WORDS) {
    for (let end = 2; end <= word.length; end += 1) pieces.add(`▁${word.slice(0, end)}`);
  }
  // SentencePiece scores are log-probabilities: longer pieces score higher so that merges prefer them.
  for (const piece of pieces) add(piece, -10 + [...piece].length, TOKEN_NORMAL);
  return { tokens, scores, types };
}

export const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

export interface TinyGgufOptions {
  /** Seeds the weights; the same seed gives a byte-identical file. Default 1. */
  seed?: number;
  layers?: number;
  embedding?: number;
  heads?: number;
  feedForward?: number;
  /** `llama.context_length`: what the model says it was trained on. Default 2048. */
  contextLength?: number;
  name?: string;
}

/**
 * Builds the tiny model's file image.
 *
 * @example
 *   await writeFile(path, buildTinyGguf({ seed: 7 }));
 */
export function buildTinyGguf(options: TinyGgufOptions = {}): Buffer {
  const random = seededRandom(options.seed ?? 1);
  const layers = options.layers ?? 2;
  const embd = options.embedding ?? 64;
  const heads = options.heads ?? 4;
  const ff = options.feedForward ?? 128;
  const headDim = embd / heads;
  const vocab = tinyVocabulary();
  const nVocab = vocab.tokens.length;
  const weights = (count: number, scale: number) => Float32Array.from({ length: count }, () => (random() * 2 - 1) * scale);
  const ones = (count: number) => new Float32Array(count).fill(1);
  const tensors: Tensor[] = [
    { name: 'token_embd.weight', dims: [embd, nVocab], data: weights(embd * nVocab, 0.5) },
    { name: 'output_norm.weight', dims: [embd], data: ones(embd) },
    { name: 'output.weight', dims: [embd, nVocab], data: weights(embd * nVocab, 0.5) },
  ];
  const scale = 1 / Math.sqrt(embd);
  for (let layer = 0; layer < layers; layer += 1) {
    const block = `blk.${layer}`;
    tensors.push(
      { name: `${block}.attn_norm.weight`, dims: [embd], data: ones(embd) },
      { name: `${block}.attn_q.weight`, dims: [embd, embd], data: weights(embd * embd, scale) },
      { name: `${block}.attn_k.weight`, dims: [embd, embd], data: weights(embd * embd, scale) },
      { name: `${block}.attn_v.weight`, dims: [embd, embd], data: weights(embd * embd, scale) },
      { name: `${block}.attn_output.weight`, dims: [embd, embd], data: weights(embd * embd, scale) },
      { name: `${block}.ffn_norm.weight`, dims: [embd], data: ones(embd) },
      { name: `${block}.ffn_gate.weight`, dims: [embd, ff], data: weights(embd * ff, scale) },
      { name: `${block}.ffn_up.weight`, dims: [embd, ff], data: weights(embd * ff, scale) },
      { name: `${block}.ffn_down.weight`, dims: [ff, embd], data: weights(ff * embd, 1 / Math.sqrt(ff)) },
    );
  }
  const metadata: Array<[string, MetadataValue]> = [
    ['general.architecture', { type: 'string', value: 'llama' }],
    ['general.name', { type: 'string', value: options.name ?? 'aiplugs-tiny-test-model' }],
    ['general.alignment', { type: 'u32', value: ALIGNMENT }],
    ['general.file_type', { type: 'u32', value: 0 }],
    ['llama.context_length', { type: 'u32', value: options.contextLength ?? 2048 }],
    ['llama.embedding_length', { type: 'u32', value: embd }],
    ['llama.block_count', { type: 'u32', value: layers }],
    ['llama.feed_forward_length', { type: 'u32', value: ff }],
    ['llama.rope.dimension_count', { type: 'u32', value: headDim }],
    ['llama.attention.head_count', { type: 'u32', value: heads }],
    ['llama.attention.head_count_kv', { type: 'u32', value: heads }],
    ['llama.attention.layer_norm_rms_epsilon', { type: 'f32', value: 1e-5 }],
    ['llama.rope.freq_base', { type: 'f32', value: 10000 }],
    ['tokenizer.ggml.model', { type: 'string', value: 'llama' }],
    ['tokenizer.ggml.tokens', { type: 'strings', value: vocab.tokens }],
    ['tokenizer.ggml.scores', { type: 'f32s', value: vocab.scores }],
    ['tokenizer.ggml.token_type', { type: 'i32s', value: vocab.types }],
    ['tokenizer.ggml.unknown_token_id', { type: 'u32', value: 0 }],
    ['tokenizer.ggml.bos_token_id', { type: 'u32', value: 1 }],
    ['tokenizer.ggml.eos_token_id', { type: 'u32', value: 4 }],
    ['tokenizer.ggml.add_bos_token', { type: 'bool', value: false }],
    ['tokenizer.chat_template', { type: 'string', value: CHATML_TEMPLATE }],
  ];
  return encodeGguf(metadata, tensors);
}

/** Writes the tiny model to `path` and returns its size in bytes. */
export async function writeTinyGguf(path: string, options: TinyGgufOptions = {}): Promise<number> {
  const image = buildTinyGguf(options);
  await writeFile(path, image);
  return image.length;
}
