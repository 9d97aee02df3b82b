// Recognises AI endpoints on an HTTP service by behaviour (never by port) and runs the llm.* probes on them.
// Detection: the API shape (OpenAI /v1/models, Ollama /api/version and /api/tags, a chat path named by the service's
// own page or a short list) and then the proof: a model must write a random marker backwards in capitals, which a
// service that reflects its input cannot do. Every request is spaced, capped and inside one per-endpoint budget.
import { performance } from 'node:perf_hooks';
import type { Dial, ProbeContext } from '../net/conn.js';
import type { AiFacts, AiKind, AiProbe, ProbeTarget } from '../types.js';
import { llmRequest, type LlmReply, type LlmRequest } from './llm-http.js';
import {
  actedWithoutConfirmation,
  AGENCY_PROMPTS,
  detectionPrompt,
  excerpt,
  INJECTION_STYLES,
  injectionPrompt,
  LEAK_PROMPTS,
  leakedInstruction,
  marker,
  obeyed,
} from './llm-prompts.js';

export const LLM_PROBE_LEVELS = ['none', 'safe', 'all'] as const;
export type LlmProbeLevel = (typeof LLM_PROBE_LEVELS)[number];

export const LLM_DEFAULTS = Object.freeze({
  level: 'safe' as LlmProbeLevel,
  /** All llm.* probes on one endpoint finish within this (issue 17). */
  budgetMs: 20_000,
  /** Longest wait for one model answer: a slow model is cut off rather than stalling the scan. */
  answerTimeoutMs: 6_000,
  /** Pause between two requests to one endpoint, so the probes never look like a flood. */
  spacingMs: 150,
  /** Most requests the probes send to one endpoint, the consumption burst included. */
  maxRequests: 32,
  /** Prompt size for the consumption probe: well above what a guarded endpoint accepts, far below harm. */
  largePromptBytes: 32 * 1024,
  /** Parallel requests in the rate probe. */
  burst: 8,
});

/** Wait for the empty-body check of a guessed chat route: an existing route answers it without running a model. */
const PREFLIGHT_MS = 500;

/** Paths a generic chat endpoint commonly uses, tried only when the service's own page names none. */
export const CHAT_PATHS = ['/chat', '/api/chat', '/api/assistant', '/ask', '/api/ask', '/v1/chat'] as const;

export interface LlmOptions {
  readonly level: LlmProbeLevel;
  readonly budgetMs: number;
  readonly answerTimeoutMs: number;
  readonly spacingMs: number;
}

/** A JSON value parsed leniently: undefined for anything that is not JSON. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

interface Answer {
  readonly text: string;
  /** Tools the service says it executed (not tool calls handed back to the client, which are pending). */
  readonly executed: readonly string[];
  readonly model?: string;
}

/** The answer text of one JSON object in any of the shapes the dialects use. */
function answerOf(v: unknown): Answer | undefined {
  if (!isRecord(v)) return undefined;
  const model = str(v.model);
  const executed = Array.isArray(v.actions)
    ? v.actions
        .filter((a) => isRecord(a) && /^(executed|done|ok|success)/i.test(str(a.status) ?? ''))
        .map((a) => str((a as Record<string, unknown>).tool) ?? 'tool')
    : [];
  const choice = Array.isArray(v.choices) && isRecord(v.choices[0]) ? v.choices[0] : undefined;
  const msg = isRecord(choice?.message) ? choice.message : isRecord(v.message) ? v.message : undefined;
  const text =
    str(msg?.content) ??
    str(choice?.text) ??
    str(v.response) ??
    str(v.reply) ??
    str(v.answer) ??
    str(v.output) ??
    str(v.text) ??
    str(v.completion) ??
    str(v.message);
  if (text === undefined) return undefined;
  return { text, executed, ...(model ? { model } : {}) };
}

/** A JSON answer, or NDJSON streaming (Ollama) joined in order. */
export function parseAnswer(body: string): Answer | undefined {
  const whole = answerOf(parseJson(body));
  if (whole) return whole;
  const lines = body.split('\n').filter((l) => l.trim());
  if (lines.length < 2) return undefined;
  const parts = lines.map((l) => answerOf(parseJson(l)));
  if (parts.some((p) => p === undefined)) return undefined;
  const ok = parts as Answer[];
  const model = ok.find((p) => p.model)?.model;
  return { text: ok.map((p) => p.text).join(''), executed: ok.flatMap((p) => p.executed), ...(model ? { model } : {}) };
}

interface Dialect {
  readonly kind: AiKind;
  readonly path: string;
  body(prompt: string): unknown;
}

const dialects = {
  openai: (model: string): Dialect => ({
    kind: 'openai-compatible',
    path: '/v1/chat/completions',
    body: (prompt) => ({ model, messages: [{ role: 'user', content: prompt }], max_tokens: 64, temperature: 0 }),
  }),
  ollama: (model: string): Dialect => ({
    kind: 'ollama',
    path: '/api/chat',
    body: (prompt) => ({
      model,
      messages: [{ role: 'user', content: prompt }],
      stream: false,
      options: { num_predict: 64, temperature: 0 },
    }),
  }),
  generic: (path: string): Dialect => ({
    kind: 'chat-assistant',
    path,
    // One body for every common field name: the service reads the one it knows.
    body: (prompt) => ({ message: prompt, prompt, input: prompt }),
  }),
};

/** Chat paths the service's own page names: fetch() targets, form actions and data attributes. */
export function chatPathsFromPage(html: string): string[] {
  const out = new Set<string>();
  const re = /(?:fetch\(\s*|action=|data-(?:endpoint|api|url)=)["'`](\/[A-Za-z0-9/_.-]{1,80})["'`]/g;
  for (const m of html.matchAll(re)) {
    const p = m[1]!;
    if (/chat|ask|assist|prompt|message|completion|conver|query|bot/i.test(p)) out.add(p);
  }
  return [...out].slice(0, 4);
}

/** OpenAI's error object: {"error": {"message": "…API key…", "type" or "code": …}}. */
function isOpenAiError(v: unknown): boolean {
  const e = isRecord(v) ? v.error : undefined;
  return isRecord(e) && (str(e.type) ?? str(e.code)) !== undefined && /api key|auth/i.test(str(e.message) ?? '');
}

/** A model name with a version in it (digits), as opposed to an alias such as "default" or "assistant". */
const versioned = (name: string) => /\d/.test(name);

interface Session {
  readonly ctx: ProbeContext;
  readonly dial: Dial;
  readonly target: ProbeTarget;
  readonly opts: LlmOptions;
  readonly deadline: number;
  requests: number;
  /** When the last model request ended; spacing starts once a model is proven, guesses go at HTTP speed. */
  last: number;
  proven: boolean;
  cutOff?: string;
}

const left = (s: Session) => Math.min(s.deadline - performance.now(), s.ctx.remaining());

async function send(
  s: Session,
  req: LlmRequest,
  what: string,
  timeoutMs = s.opts.answerTimeoutMs,
): Promise<LlmReply | undefined> {
  if (s.requests >= LLM_DEFAULTS.maxRequests || left(s) < 100) {
    s.cutOff ??= `budget spent before: ${what}`;
    return undefined;
  }
  const wait = s.proven ? s.last + s.opts.spacingMs - performance.now() : 0;
  if (wait > 0) await new Promise((r) => setTimeout(r, Math.min(wait, left(s))));
  s.requests++;
  const timeout = Math.max(0, Math.min(req.method === 'GET' ? s.ctx.probeTimeoutMs : timeoutMs, left(s)));
  const reply = await llmRequest(s.ctx, s.dial, s.target, req, timeout);
  s.last = performance.now();
  if (!reply.ok && reply.error === 'timeout' && req.method === 'POST')
    s.cutOff ??= `no answer within ${Math.round(timeout / 100) / 10} s to: ${what}`;
  return reply;
}

async function ask(s: Session, d: Dialect, prompt: string, what: string): Promise<Answer | undefined> {
  const r = await send(s, { method: 'POST', path: d.path, body: d.body(prompt) }, what);
  if (!r?.ok || r.status >= 300) return undefined;
  return parseAnswer(r.text);
}

async function getJson(s: Session, path: string): Promise<{ status: number; json: unknown } | undefined> {
  const r = await send(s, { method: 'GET', path }, `GET ${path}`);
  return r?.ok ? { status: r.status, json: parseJson(r.text) } : undefined;
}

interface Candidate {
  readonly dialect: Dialect;
  readonly model?: { readonly name: string; readonly source: string };
}

/** The API shapes that name a dialect before any prompt is sent. */
async function candidates(s: Session, page: string): Promise<Candidate[]> {
  const out: Candidate[] = [];
  const models = await getJson(s, '/v1/models');
  if (models?.status === 200 && isRecord(models.json) && Array.isArray(models.json.data)) {
    const id = models.json.data.map((m) => (isRecord(m) ? str(m.id) : undefined)).find((x) => x);
    if (id !== undefined)
      out.push({
        dialect: dialects.openai(id),
        ...(versioned(id) ? { model: { name: id, source: 'GET /v1/models' } } : {}),
      });
  } else if ((models?.status === 401 || models?.status === 403) && isOpenAiError(models.json)) {
    // The OpenAI error shape behind a key: named, then left alone.
    out.push({ dialect: dialects.openai('default') });
  }
  const tags = await getJson(s, '/api/tags');
  if (tags?.status === 200 && isRecord(tags.json) && Array.isArray(tags.json.models)) {
    const name = tags.json.models.map((m) => (isRecord(m) ? str(m.name) : undefined)).find((x) => x);
    if (name !== undefined) {
      const version = await getJson(s, '/api/version');
      const v = version?.status === 200 && isRecord(version.json) ? str(version.json.version) : undefined;
      const disclosed = versioned(name)
        ? { name: `${name}${v ? ` (Ollama ${v})` : ''}`, source: `GET /api/tags${v ? ', GET /api/version' : ''}` }
        : v
          ? { name: `Ollama ${v}`, source: 'GET /api/version' }
          : undefined;
      out.push({ dialect: dialects.ollama(name), ...(disclosed ? { model: disclosed } : {}) });
    }
  }
  if (out.length) return out;
  const named = chatPathsFromPage(page);
  for (const path of named.length ? named : CHAT_PATHS) out.push({ dialect: dialects.generic(path) });
  return out;
}

function probeOf(prompt: string, answer: Answer | undefined, hit: boolean, detail?: string): AiProbe {
  return {
    probe: excerpt(prompt, 120),
    answer: answer ? excerpt(answer.text, 160) : '(no answer)',
    hit,
    ...(detail ? { detail: excerpt(detail, 200) } : {}),
  };
}

/** The gentle consumption probe: one large prompt, then a small burst; a finding needs both to pass unchecked. */
async function consumption(s: Session, d: Dialect): Promise<AiFacts['consumption']> {
  const filler = 'sensor reading nominal. '.repeat(Math.ceil(LLM_DEFAULTS.largePromptBytes / 24));
  const big = await send(
    s,
    { method: 'POST', path: d.path, body: d.body(`${filler}\nReply with OK.`) },
    'large prompt',
  );
  if (!big?.ok) return undefined;
  const sizeUnlimited = big.status < 300;
  const room = LLM_DEFAULTS.maxRequests - s.requests;
  if (room < LLM_DEFAULTS.burst || left(s) < s.opts.answerTimeoutMs) {
    s.cutOff ??= 'budget spent before: request-rate burst';
    return undefined;
  }
  s.requests += LLM_DEFAULTS.burst;
  const timeout = Math.min(s.opts.answerTimeoutMs, left(s));
  const replies = await Promise.all(
    Array.from({ length: LLM_DEFAULTS.burst }, () =>
      llmRequest(s.ctx, s.dial, s.target, { method: 'POST', path: d.path, body: d.body('Reply with OK.') }, timeout),
    ),
  );
  s.last = performance.now();
  const statuses = replies.map((r) => (r.ok ? String(r.status) : r.error));
  const throttled = replies.some((r) => r.ok && (r.status === 429 || r.status === 503));
  return {
    hit: sizeUnlimited && !throttled,
    detail:
      `a ${Math.round(LLM_DEFAULTS.largePromptBytes / 1024)} KiB prompt got HTTP ${big.status}; ` +
      `${LLM_DEFAULTS.burst} requests at once got ${statuses.join(' ')}`,
  };
}

/** Recognises an AI endpoint behind an HTTP service and probes it; undefined when it is not one (or level none). */
export async function probeLlm(
  ctx: ProbeContext,
  dial: Dial,
  target: ProbeTarget,
  page: string,
  opts: LlmOptions,
): Promise<AiFacts | undefined> {
  if (opts.level === 'none' || ctx.remaining() <= 0) return undefined;
  const s: Session = {
    ctx,
    dial,
    target,
    opts,
    deadline: performance.now() + opts.budgetMs,
    requests: 0,
    last: 0,
    proven: false,
  };
  let found: { c: Candidate; detection: AiProbe; model?: string } | undefined;
  let authWall: Candidate | undefined;
  const list = await candidates(s, page);
  for (const c of list) {
    const m = marker(ctx.env.randomBytes);
    const prompt = detectionPrompt(m);
    const generic = c.dialect.kind === 'chat-assistant';
    if (generic) {
      // A route is asked the question only if an empty JSON body gets a quick answer other than "no such route":
      // a chat route answers {} at once (400, 422 or a greeting) without running a model, and a server that does
      // not answer a POST at all (some embedded servers only speak GET) gets no more guesses.
      const pre = await send(s, { method: 'POST', path: c.dialect.path, body: {} }, 'route check', PREFLIGHT_MS);
      if (!pre?.ok) break;
      if ([404, 405, 501].includes(pre.status)) continue;
    }
    const r = await send(s, { method: 'POST', path: c.dialect.path, body: c.dialect.body(prompt) }, 'detection');
    if (r?.ok && (r.status === 401 || r.status === 403)) authWall ??= c;
    const a = r?.ok && r.status < 300 ? parseAnswer(r.text) : undefined;
    if (a && obeyed(prompt, a.text, m)) {
      found = { c, detection: probeOf(prompt, a, true), ...(a.model ? { model: a.model } : {}) };
      s.proven = true;
      break;
    }
  }
  if (!found) {
    // An OpenAI or Ollama shape that refuses without a key, or whose model never answered in time, is still worth
    // naming (with the cut-off noted); no probe can go further.
    const named = authWall ?? (s.cutOff ? list[0] : undefined);
    if (!named || named.dialect.kind === 'chat-assistant') return undefined;
    return emptyFacts(named, s, opts);
  }
  const d = found.c.dialect;
  const model =
    found.c.model ??
    (found.model && versioned(found.model)
      ? { name: found.model, source: `"model" in the ${d.path} answer` }
      : undefined);

  const injection: (AiProbe & { style: string })[] = [];
  for (const style of INJECTION_STYLES) {
    const m = marker(ctx.env.randomBytes);
    const prompt = injectionPrompt(style, m);
    const a = await ask(s, d, prompt, `injection (${style})`);
    injection.push({ style, ...probeOf(prompt, a, a !== undefined && obeyed(prompt, a.text, m)) });
  }
  const leak: AiProbe[] = [];
  for (const prompt of LEAK_PROMPTS) {
    const a = await ask(s, d, prompt, 'system-prompt leak');
    const evidence = a ? leakedInstruction(prompt, a.text) : undefined;
    leak.push(probeOf(prompt, a, evidence !== undefined, evidence));
    if (evidence) break;
  }
  const agency: AiProbe[] = [];
  if (opts.level === 'all')
    for (const prompt of AGENCY_PROMPTS) {
      const a = await ask(s, d, prompt, 'excessive agency');
      const hit = a !== undefined && actedWithoutConfirmation(a.text, a.executed);
      agency.push(probeOf(prompt, a, hit, a?.executed.length ? `executed: ${a.executed.join(', ')}` : undefined));
      if (hit) break;
    }
  const cons = await consumption(s, d);
  return {
    kind: d.kind,
    path: d.path,
    answeredWithoutAuth: true,
    detection: found.detection,
    ...(model ? { model } : {}),
    injection,
    leak,
    agency,
    ...(cons ? { consumption: cons } : {}),
    level: opts.level,
    requests: s.requests,
    ...(s.cutOff ? { cutOff: s.cutOff } : {}),
  };
}

function emptyFacts(c: Candidate, s: Session, opts: LlmOptions): AiFacts {
  return {
    kind: c.dialect.kind,
    path: c.dialect.path,
    answeredWithoutAuth: false,
    ...(c.model ? { model: c.model } : {}),
    injection: [],
    leak: [],
    agency: [],
    level: opts.level === 'all' ? 'all' : 'safe',
    requests: s.requests,
    ...(s.cutOff ? { cutOff: s.cutOff } : {}),
  };
}
