/**
 * Rebuilds the assistant message a stream delivered in deltas (the first
 * choice): content and refusal text, and tool calls whose id, name and
 * argument fragments arrive spread over many chunks, keyed by their index.
 */
import type { ChatMessage } from "./openai-types.js";

interface ToolCallDelta {
  index?: number;
  id?: string;
  type?: string;
  function?: { name?: string; arguments?: string };
}

interface ToolCall {
  id: string;
  type: string;
  function: { name: string; arguments: string };
}

export class StreamAnswer {
  readonly #content: string[] = [];
  readonly #refusal: string[] = [];
  readonly #toolCalls: ToolCall[] = [];

  /** Adds one delta; returns the content text it carried ("" when none). */
  add(delta: Record<string, unknown> | undefined): string {
    if (!delta) return "";
    if (typeof delta.refusal === "string") this.#refusal.push(delta.refusal);
    if (Array.isArray(delta.tool_calls)) {
      for (const d of delta.tool_calls as ToolCallDelta[]) this.#addToolCall(d);
    }
    const content = delta.content;
    if (typeof content === "string" && content !== "") {
      this.#content.push(content);
      return content;
    }
    return "";
  }

  #addToolCall(d: ToolCallDelta): void {
    const i = typeof d.index === "number" ? d.index : this.#toolCalls.length;
    this.#toolCalls[i] ??= { id: "", type: "function", function: { name: "", arguments: "" } };
    const call = this.#toolCalls[i];
    if (d.id) call.id = d.id;
    if (d.type) call.type = d.type;
    if (d.function?.name) call.function.name += d.function.name;
    if (d.function?.arguments) call.function.arguments += d.function.arguments;
  }

  get text(): string {
    return this.#content.join("");
  }

  message(): ChatMessage {
    const m: ChatMessage = { role: "assistant", content: this.#content.length > 0 ? this.text : null };
    if (this.#refusal.length > 0) m.refusal = this.#refusal.join("");
    const calls = this.#toolCalls.filter(Boolean);
    if (calls.length > 0) m.tool_calls = calls;
    if (m.content === null && calls.length === 0 && m.refusal === undefined) m.content = "";
    return m;
  }
}
