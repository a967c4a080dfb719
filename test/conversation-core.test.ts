/** The pure parts of conversations: hashing, text, titles, search queries, stream reassembly. */
import { describe, expect, it } from "vitest";
import { conversationTitle, ftsQuery, messageHash, messageText } from "../src/core/conversation.js";
import { StreamAnswer } from "../src/core/stream-answer.js";

describe("messageHash", () => {
  it("is the same for the same message whatever its key order, and differs on any content change", () => {
    const a = messageHash({ role: "user", content: "hi", name: "bo" });
    expect(messageHash({ name: "bo", content: "hi", role: "user" })).toBe(a);
    expect(messageHash({ role: "user", content: "hi " })).not.toBe(a);
    expect(messageHash({ role: "assistant", content: "hi", name: "bo" })).not.toBe(a);
  });

  it("matches a resent message whatever shape the client's SDK rebuilt it in", () => {
    expect(messageHash({ role: "user", content: [{ type: "text", text: "hi" }] })).toBe(
      messageHash({ role: "user", content: "hi" }),
    );
    expect(messageHash({ role: "assistant", content: null, tool_calls: [] })).toBe(
      messageHash({ role: "assistant", content: "" }),
    );
    const call = { id: "c1", type: "function", function: { name: "f", arguments: "{}" } };
    expect(messageHash({ role: "assistant", content: null, tool_calls: [{ ...call, index: 0 }] })).toBe(
      messageHash({ role: "assistant", content: "", tool_calls: [call] }),
    );
    expect(
      messageHash({
        role: "assistant",
        content: "",
        tool_calls: [{ ...call, function: { name: "g", arguments: "{}" } }],
      }),
    ).not.toBe(messageHash({ role: "assistant", content: "", tool_calls: [call] }));
    const image = { type: "image_url", image_url: { url: "data:x", detail: "low" } };
    expect(messageHash({ role: "user", content: [image] })).toBe(
      messageHash({ role: "user", content: [{ image_url: { detail: "low", url: "data:x" }, type: "image_url" }] }),
    );
  });
});

describe("messageText and conversationTitle", () => {
  it("joins text parts, names other parts and shows tool calls", () => {
    expect(
      messageText({
        role: "user",
        content: [
          { type: "text", text: "What is in" },
          { type: "image_url", image_url: { url: "data:..." } },
        ],
      }),
    ).toBe("What is in\n[image_url]");
    expect(
      messageText({
        role: "assistant",
        content: null,
        tool_calls: [{ id: "c1", type: "function", function: { name: "weather", arguments: '{"city":"Oslo"}' } }],
      }),
    ).toBe('[tool call weather({"city":"Oslo"})]');
  });

  it("takes the first user message's first line, shortened to 80 characters", () => {
    expect(
      conversationTitle([
        { role: "system", content: "sys" },
        { role: "user", content: "  Hello there\nmore" },
      ]),
    ).toBe("Hello there");
    const long = "x".repeat(200);
    expect(conversationTitle([{ role: "user", content: long }])).toBe(`${"x".repeat(79)}…`);
    expect(conversationTitle([{ role: "system", content: "only a system prompt" }])).toBeNull();
  });
});

describe("ftsQuery", () => {
  it("quotes every word, keeps a trailing * as a prefix, and gives null for nothing to search", () => {
    expect(ftsQuery("refund policy")).toBe('"refund" "policy"');
    expect(ftsQuery('say "hi" NEAR(')).toBe('"say" """hi""" "NEAR("');
    expect(ftsQuery("tomat*")).toBe('"tomat"*');
    expect(ftsQuery("   ")).toBeNull();
    expect(ftsQuery("*")).toBeNull();
  });
});

describe("StreamAnswer", () => {
  it("reassembles content, refusals and tool calls spread over deltas", () => {
    const a = new StreamAnswer();
    expect(a.add({ role: "assistant", content: "" })).toBe("");
    expect(a.add({ content: "Checking " })).toBe("Checking ");
    a.add({ tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "weather", arguments: "" } }] });
    a.add({ tool_calls: [{ index: 1, id: "call_2", type: "function", function: { name: "time", arguments: "{}" } }] });
    a.add({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] });
    a.add({ tool_calls: [{ index: 0, function: { arguments: '"Oslo"}' } }] });
    expect(a.message()).toEqual({
      role: "assistant",
      content: "Checking ",
      tool_calls: [
        { id: "call_1", type: "function", function: { name: "weather", arguments: '{"city":"Oslo"}' } },
        { id: "call_2", type: "function", function: { name: "time", arguments: "{}" } },
      ],
    });
  });

  it("gives an empty answer rather than nothing when the stream carried no output", () => {
    expect(new StreamAnswer().message()).toEqual({ role: "assistant", content: "" });
    const r = new StreamAnswer();
    r.add({ refusal: "I can't" });
    expect(r.message()).toEqual({ role: "assistant", content: null, refusal: "I can't" });
  });
});
