// The official OpenAI Node SDK, unchanged, against `inferline serve`: completions, chat
// completions, streaming (with usage), the model list and one model, and the SDK's typed errors
// (a bad parameter, an unknown model, a wrong key, a quota refusal).
// Starts its own server on a free port with a temporary data directory and the shipped model,
// or, with INFERLINE_SDK_BASE_URL (http://host:port) and INFERLINE_SDK_ADMIN_KEY set, runs against
// a server that is already up (the distributed suite's gateway).
import OpenAI from 'openai';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const bin = process.env.INFERLINE_BIN;
const existingUrl = process.env.INFERLINE_SDK_BASE_URL;
const existingAdmin = process.env.INFERLINE_SDK_ADMIN_KEY;
assert.ok(bin || (existingUrl && existingAdmin),
          'INFERLINE_BIN must name the inferline binary, or INFERLINE_SDK_BASE_URL and ' +
          'INFERLINE_SDK_ADMIN_KEY a running server');
const work = mkdtempSync(join(tmpdir(), 'inferline-sdk-'));
const dataDir = join(work, 'data');

// The server to test: an existing one, or a fresh `inferline serve`.
async function openServer() {
  if (existingUrl) {
    const baseURL = `${existingUrl.replace(/\/+$/, '')}/v1`;
    return { baseURL, admin: existingAdmin, stop: async () => {} };
  }
  const server = await startServer();
  return {
    baseURL: `http://127.0.0.1:${server.port}/v1`,
    admin: readFileSync(join(dataDir, 'admin.key'), 'utf8').trim(),
    stop: async () => {
      server.child.removeAllListeners('exit');
      server.child.kill('SIGTERM');
      await new Promise((r) => server.child.once('exit', r));
    },
  };
}

function startServer() {
  const child = spawn(bin, ['serve', '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir,
                            '--log-format', 'text', '--engine-threads', '1'],
                      { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${log}`)), 90_000);
    const onData = (chunk) => {
      log += chunk.toString();
      const m = log.match(/listening on [^ ]*:(\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]), log: () => log });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${log}`)));
  });
}

async function main() {
  const server = await openServer();
  const { baseURL, admin } = server;
  try {
    // A user key through the admin API, with the bootstrap admin key.
    const res = await fetch(`${baseURL}/admin/keys`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ user: 'sdk-user', plan: 'unlimited' }),
    });
    assert.equal(res.status, 201);
    const { key } = await res.json();
    const client = new OpenAI({ apiKey: key, baseURL, maxRetries: 0 });

    const models = await client.models.list();
    assert.ok(models.data.some((m) => m.id === 'kjv-small'));
    const model = await client.models.retrieve('kjv-small');
    assert.equal(model.id, 'kjv-small');
    assert.equal(model.object, 'model');

    const completion = await client.completions.create({
      model: 'kjv-small', prompt: 'In the beginning', max_tokens: 8, temperature: 0,
    });
    assert.equal(completion.object, 'text_completion');
    assert.equal(typeof completion.choices[0].text, 'string');
    assert.ok(['stop', 'length'].includes(completion.choices[0].finish_reason));
    assert.equal(completion.usage.total_tokens,
                 completion.usage.prompt_tokens + completion.usage.completion_tokens);

    const chat = await client.chat.completions.create({
      model: 'kjv-small', max_tokens: 8,
      messages: [{ role: 'user', content: 'Who divided the waters?' }],
    });
    assert.equal(chat.object, 'chat.completion');
    assert.equal(chat.choices[0].message.role, 'assistant');
    assert.equal(typeof chat.choices[0].message.content, 'string');

    // Streaming: the pieces concatenate to the stored result; usage arrives last.
    const stream = await client.chat.completions.create({
      model: 'kjv-small', max_tokens: 10, stream: true, stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'Sing unto the Lord' }],
    });
    let text = '';
    let id = '';
    let finish = null;
    let usage = null;
    for await (const chunk of stream) {
      id = chunk.id;
      if (chunk.usage) usage = chunk.usage;
      for (const choice of chunk.choices) {
        text += choice.delta?.content ?? '';
        finish = choice.finish_reason ?? finish;
      }
    }
    assert.ok(finish, 'a chunk carried finish_reason');
    assert.ok(usage && usage.completion_tokens >= 1);
    const stored = await (await fetch(`${baseURL}/requests/${id}`, {
      headers: { Authorization: `Bearer ${key}` },
    })).json();
    assert.equal(stored.status, 'completed');
    assert.equal(text, stored.result.text);
    assert.equal(usage.completion_tokens, stored.usage.completion_tokens);

    const textStream = await client.completions.create({
      model: 'kjv-small', prompt: 'And God said', max_tokens: 6, stream: true,
    });
    let pieces = 0;
    for await (const chunk of textStream) pieces += chunk.choices.length;
    assert.ok(pieces >= 1);

    // Errors surface as the SDK's typed errors.
    await assert.rejects(
      client.completions.create({ model: 'kjv-small', prompt: 'x', temperature: 5 }),
      (err) => err instanceof OpenAI.BadRequestError && err.param === 'temperature');
    await assert.rejects(
      client.completions.create({ model: 'no-such-model', prompt: 'x' }),
      (err) => err instanceof OpenAI.NotFoundError);
    const bad = new OpenAI({ apiKey: 'sk-il-wrong', baseURL, maxRetries: 0 });
    await assert.rejects(bad.models.list(), (err) => err instanceof OpenAI.AuthenticationError);

    // A quota refusal (here a daily token limit that the request's prompt + max_tokens can never
    // fit) is the SDK's RateLimitError, with the Retry-After header it reads for retrying.
    const tightRes = await fetch(`${baseURL}/admin/keys`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ user: 'sdk-tight', plan: 'unlimited' }),
    });
    assert.equal(tightRes.status, 201);
    const tight = await tightRes.json();
    const patched = await fetch(`${baseURL}/admin/users/sdk-tight`, {
      method: 'PATCH',
      headers: { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ limits: { tokens_per_day: 5 } }),
    });
    assert.equal(patched.status, 200);
    const tightClient = new OpenAI({ apiKey: tight.key, baseURL, maxRetries: 0 });
    await assert.rejects(
      tightClient.completions.create({ model: 'kjv-small', prompt: 'And God said', max_tokens: 8 }),
      (err) => err instanceof OpenAI.RateLimitError && err.status === 429 &&
               Number(err.headers?.get?.('retry-after') ?? err.headers?.['retry-after']) >= 1);
    console.log('openai sdk e2e: all passed');
  } finally {
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
