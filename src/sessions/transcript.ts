import { AGENT_PROJECTS_DIR } from '../agent/agent-layout';

/**
 * The Claude Code CLI's transcripts: one JSON object per line in
 * `<projects>/<workdir with every non-alphanumeric character as '-'>/<session id>.jsonl`, and the
 * session's subagent transcripts in the folder `<session id>/` beside it. Most lines are
 * bookkeeping (queue operations, attachments, request shapes); the conversation is in the lines
 * of type `user`, `assistant` and `system`.
 *
 * Everything here is pure and never throws on what it reads: a line that is not JSON (a torn last
 * line while the CLI writes, garbage) or not the shape it claims is counted as skipped.
 */

export enum TranscriptMessageType {
  user = 'user',
  assistant = 'assistant',
  system = 'system',
}

export interface TranscriptToolCall {
  id: string;
  name: string;
  input: Record<string, unknown>;
}

export interface TranscriptToolResult {
  toolUseId: string;
  content: string;
  isError: boolean;
}

export interface TranscriptMessage {
  /** Position among the transcript's messages, from 0. */
  index: number;
  type: TranscriptMessageType;
  timestamp: string | null;
  text?: string;
  toolCalls?: TranscriptToolCall[];
  toolResults?: TranscriptToolResult[];
}

export interface ParsedTranscript {
  messages: TranscriptMessage[];
  /** Non-empty lines that could not be read. */
  skippedLines: number;
  /** The text of the first prompt a person (or API client) wrote, untouched. */
  firstPrompt: string | null;
  /** The earliest timestamp on any line. */
  firstTimestamp: string | null;
}

/** What a session list needs of a transcript; small enough to cache per file. */
export interface TranscriptSummary {
  messageCount: number;
  skippedLines: number;
  title: string | null;
  firstTimestamp: string | null;
}

export const TITLE_MAX_LENGTH = 80;

const SESSION_FILE = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.jsonl$/;

/** The folder of one working directory's transcripts, e.g. `/workspace` → `…/projects/-workspace`. */
export function transcriptDirectory(workdir: string): string {
  return `${AGENT_PROJECTS_DIR}/${workdir.replace(/[^a-zA-Z0-9]/g, '-')}`;
}

/** The session id of a transcript file name (`<uuid>.jsonl`, directly in the folder), or null. */
export function sessionIdOfFile(name: string): string | null {
  return SESSION_FILE.exec(name)?.[1] ?? null;
}

export function parseTranscript(text: string): ParsedTranscript {
  const messages: TranscriptMessage[] = [];
  let skippedLines = 0;
  let firstPrompt: string | null = null;
  let firstTimestamp: string | null = null;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const record = parseLine(line);
    if (record === null) {
      skippedLines++;
      continue;
    }
    const timestamp = typeof record.timestamp === 'string' ? record.timestamp : null;
    if (timestamp !== null && (firstTimestamp === null || timestamp < firstTimestamp)) {
      firstTimestamp = timestamp;
    }
    if (!isMessageType(record.type)) continue;
    const message = toMessage(record, record.type, messages.length, timestamp);
    if (message === null) {
      skippedLines++;
      continue;
    }
    messages.push(message);
    if (firstPrompt === null && message.type === TranscriptMessageType.user && !record.isMeta) {
      firstPrompt = message.text?.trim() ? message.text : null;
    }
  }
  return { messages, skippedLines, firstPrompt, firstTimestamp };
}

export function summarizeTranscript(text: string): TranscriptSummary {
  return summaryOf(parseTranscript(text));
}

export function summaryOf(parsed: ParsedTranscript): TranscriptSummary {
  return {
    messageCount: parsed.messages.length,
    skippedLines: parsed.skippedLines,
    title: parsed.firstPrompt === null ? null : shortenTitle(parsed.firstPrompt),
    firstTimestamp: parsed.firstTimestamp,
  };
}

/** One line of whitespace-collapsed text, cut at a word when it is longer than `max`. */
export function shortenTitle(text: string, max = TITLE_MAX_LENGTH): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat.length <= max) return flat;
  const cut = flat.slice(0, max - 1);
  const atWord = cut.lastIndexOf(' ');
  return `${(atWord > max / 2 ? cut.slice(0, atWord) : cut).trimEnd()}…`;
}

type JsonObject = Record<string, unknown>;

function parseLine(line: string): JsonObject | null {
  try {
    const value: unknown = JSON.parse(line);
    return isObject(value) ? value : null;
  } catch {
    return null;
  }
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isMessageType(type: unknown): type is TranscriptMessageType {
  return (
    type === TranscriptMessageType.user ||
    type === TranscriptMessageType.assistant ||
    type === TranscriptMessageType.system
  );
}

function toMessage(
  record: JsonObject,
  type: TranscriptMessageType,
  index: number,
  timestamp: string | null,
): TranscriptMessage | null {
  const message: TranscriptMessage = { index, type, timestamp };
  if (type === TranscriptMessageType.system) {
    // System lines (compaction boundaries, notices) carry their text at the top level.
    if (typeof record.content === 'string') message.text = record.content;
    return message;
  }
  const inner = record.message;
  if (!isObject(inner)) return null;
  const { content } = inner;
  if (typeof content === 'string') {
    message.text = content;
    return message;
  }
  if (!Array.isArray(content)) return null;
  const texts: string[] = [];
  const toolCalls: TranscriptToolCall[] = [];
  const toolResults: TranscriptToolResult[] = [];
  for (const block of content) {
    if (!isObject(block)) continue;
    if (block.type === 'text' && typeof block.text === 'string') texts.push(block.text);
    const call = toToolCall(block);
    if (call) toolCalls.push(call);
    const result = toToolResult(block);
    if (result) toolResults.push(result);
  }
  if (texts.length > 0) message.text = texts.join('\n');
  if (toolCalls.length > 0) message.toolCalls = toolCalls;
  if (toolResults.length > 0) message.toolResults = toolResults;
  return message;
}

function toToolCall(block: JsonObject): TranscriptToolCall | null {
  if (block.type !== 'tool_use' || typeof block.id !== 'string' || typeof block.name !== 'string') {
    return null;
  }
  return { id: block.id, name: block.name, input: isObject(block.input) ? block.input : {} };
}

function toToolResult(block: JsonObject): TranscriptToolResult | null {
  if (block.type !== 'tool_result' || typeof block.tool_use_id !== 'string') return null;
  return {
    toolUseId: block.tool_use_id,
    content: toolResultText(block.content),
    isError: block.is_error === true,
  };
}

/** A tool result's content is a string or a list of blocks; images become a placeholder. */
function toolResultText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((block) => {
      if (!isObject(block)) return '';
      if (block.type === 'text' && typeof block.text === 'string') return block.text;
      return `[${typeof block.type === 'string' ? block.type : 'content'}]`;
    })
    .filter((text) => text !== '')
    .join('\n');
}
