// AiPlugs' built-in language detector (the `webai:language-detector` built-in): fastText lid.176,
// declared in webai/language-detector-model.ts (one declaration, one file in models/), with its
// path in LID_MODEL_PATH. Requests:
//   {op: 'detect', text}  → {results: [{detectedLanguage, confidence}]}, best first, ending in "und"
//   {op: 'languages'}     → {languages: [tag…]}: what the model can tell apart
import { pathToFileURL } from 'node:url';
import { getLIDModel, type IdentifyLangResult } from 'fasttext.wasm.js';
import { z } from 'zod';

/** fastText reads one line; more than this says nothing more about the language. */
const MAX_CHARS = 4000;
/** How many candidates fastText is asked for; those under MIN_CONFIDENCE are folded into "und". */
const CANDIDATES = 10;
const MIN_CONFIDENCE = 0.1;

const requestSchema = z.discriminatedUnion('op', [z.object({ op: z.literal('detect'), text: z.string() }), z.object({ op: z.literal('languages') })]);

type Model = Awaited<ReturnType<typeof getLIDModel>>;
let loading: Promise<Model> | null = null;

function model(): Promise<Model> {
  const path = process.env.LID_MODEL_PATH;
  if (!path) throw new Error('LID_MODEL_PATH is not set: this backend is started by the AiPlugs gateway, which provisions lid.176.ftz');
  loading ??= (async () => {
    const lid = await getLIDModel({ modelPath: pathToFileURL(path).href });
    await lid.load();
    return lid;
  })().catch((error: unknown) => {
    loading = null;
    throw error;
  });
  return loading;
}

const round = (value: number) => Math.round(value * 10_000) / 10_000;

async function detect(text: string) {
  const line = text.replace(/\s+/g, ' ').trim().slice(0, MAX_CHARS);
  if (!line) return { results: [{ detectedLanguage: 'und', confidence: 1 }] };
  const candidates: IdentifyLangResult[] = await (await model()).identify(line, CANDIDATES);
  const kept = candidates.filter((candidate) => candidate.possibility >= MIN_CONFIDENCE).map((candidate) => ({ detectedLanguage: candidate.alpha2 ?? candidate.alpha3, confidence: round(candidate.possibility) }));
  const rest = Math.max(0, 1 - kept.reduce((sum, result) => sum + result.confidence, 0));
  return { results: [...kept, { detectedLanguage: 'und', confidence: round(rest) }] };
}

/** The package's static label → ISO 639 mapping (not exported by name). */
interface Normalizer {
  normalizeIdentifyLang(raw: string): { alpha2: string | null; alpha3: string };
}

async function languages() {
  const lid = await model();
  const labels = lid.model!.getLabels();
  const tags = new Set<string>();
  for (let index = 0; index < labels[0].size(); index += 1) {
    const raw = labels[0].get(index).replace(/^__label__/, '');
    const normalized = (lid.constructor as unknown as Normalizer).normalizeIdentifyLang(raw);
    tags.add(normalized.alpha2 ?? normalized.alpha3);
  }
  return { languages: [...tags].sort() };
}

export async function run(payload: unknown): Promise<unknown> {
  const request = requestSchema.parse(payload);
  return request.op === 'detect' ? detect(request.text) : languages();
}
