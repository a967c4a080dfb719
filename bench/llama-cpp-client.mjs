#!/usr/bin/env node
// The HTTP client of bench/llama-cpp.mjs, in a process of its own so its work is not counted
// as Switchyard's: for each line `stream` or `json` read on stdin it sends one request and
// writes one JSON line { ttft, total, tokens, text } on stdout.
//
//   node bench/llama-cpp-client.mjs <url> <body-json>

import { createInterface } from "node:readline";

const [url, bodyJson] = process.argv.slice(2);
const bodies = Object.fromEntries(
  ["stream", "json"].map((mode) => [
    mode,
    JSON.stringify({
      ...JSON.parse(bodyJson),
      stream: mode === "stream",
      ...(mode === "stream" ? { stream_options: { include_usage: true } } : {}),
    }),
  ]),
);

async function once(mode) {
  const stream = mode === "stream";
  const body = bodies[mode];
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  if (!stream) {
    const json = await res.json();
    return {
      ttft: null,
      total: performance.now() - t0,
      tokens: json.usage.completion_tokens,
      text: json.choices[0].message.content,
    };
  }
  let ttft = null;
  let text = "";
  let tokens = 0;
  let buf = "";
  const decoder = new TextDecoder();
  for await (const part of res.body) {
    buf += decoder.decode(part, { stream: true });
    for (let i = buf.indexOf("\n\n"); i >= 0; i = buf.indexOf("\n\n")) {
      const data = buf.slice(0, i).replace(/^data: /, "");
      buf = buf.slice(i + 2);
      if (data === "[DONE]") continue;
      const chunk = JSON.parse(data);
      const content = chunk.choices[0]?.delta?.content;
      if (content) {
        ttft ??= performance.now() - t0;
        text += content;
      }
      if (chunk.usage) tokens = chunk.usage.completion_tokens;
    }
  }
  return { ttft, total: performance.now() - t0, tokens, text };
}

for await (const line of createInterface({ input: process.stdin })) {
  process.stdout.write(`${JSON.stringify(await once(line.trim()))}\n`);
}
