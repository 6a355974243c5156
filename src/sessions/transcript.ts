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
  /** The line's `uuid` (what a fork's `upToMessageId` names), or null when it has none. */
  uuid: string | null;
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
/** A title set in the transcript (`custom-title` lines: a fork's, or the CLI's `/rename`). */
export const CUSTOM_TITLE_MAX_LENGTH = 200;

const SESSION_FILE = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.jsonl$/;

/** The folder of one working directory's transcripts, e.g. `/workspace` → `…/projects/-workspace`. */
export function transcriptDirectory(workdir: string): string {
  return `${AGENT_PROJECTS_DIR}/${workdir.replace(/[^a-zA-Z0-9]/g, '-')}`;
}

/** The session id of a transcript file name (`<uuid>.jsonl`, directly in the folder), or null. */
export function sessionIdOfFile(name: string): string | null {
  return SESSION_FILE.exec(name)?.[1] ?? null;
}

/** What one line of a transcript holds. */
export interface TranscriptLine {
  /** The line could not be read: not JSON, or not the shape its type claims. */
  skipped: boolean;
  timestamp: string | null;
  /** Present for conversation lines; `index` is for the caller to set. */
  message: Omit<TranscriptMessage, 'index'> | null;
  /** The text of a prompt a person (or API client) wrote, when this line is one. */
  prompt: string | null;
  /** The title a `custom-title` line sets; the last one wins over the first prompt. */
  customTitle: string | null;
}

/** Reads one line of a transcript (without its newline); never throws. */
export function readTranscriptLine(line: string): TranscriptLine | null {
  if (line.trim() === '') return null;
  const record = parseLine(line);
  const none = { message: null, prompt: null, customTitle: null };
  if (record === null) return { ...none, skipped: true, timestamp: null };
  const timestamp = typeof record.timestamp === 'string' ? record.timestamp : null;
  if (!isMessageType(record.type)) {
    return { ...none, skipped: false, timestamp, customTitle: customTitleOf(record) };
  }
  const message = toMessage(record, record.type, timestamp);
  if (message === null) return { ...none, skipped: true, timestamp };
  const isPrompt = message.type === TranscriptMessageType.user && !record.isMeta;
  const prompt = isPrompt && message.text?.trim() ? message.text : null;
  return { ...none, skipped: false, timestamp, message, prompt };
}

function customTitleOf(record: JsonObject): string | null {
  const title = record.type === 'custom-title' ? record.customTitle : undefined;
  return typeof title === 'string' && title.trim() !== ''
    ? shortenTitle(title, CUSTOM_TITLE_MAX_LENGTH)
    : null;
}

/**
 * Builds a transcript's summary line by line, from scratch or from an earlier summary of the
 * same file's start: transcripts only grow, so a changed file is read from where it was left.
 */
export class TranscriptSummarizer {
  private current: TranscriptSummary;

  constructor(from: TranscriptSummary = EMPTY_SUMMARY) {
    this.current = { ...from };
  }

  add(text: string): void {
    const line = readTranscriptLine(text);
    if (line === null) return;
    const summary = this.current;
    if (line.skipped) summary.skippedLines += 1;
    if (
      line.timestamp !== null &&
      (summary.firstTimestamp === null || line.timestamp < summary.firstTimestamp)
    ) {
      summary.firstTimestamp = line.timestamp;
    }
    if (line.message) summary.messageCount += 1;
    if (line.customTitle !== null) summary.title = line.customTitle;
    else if (summary.title === null && line.prompt !== null)
      summary.title = shortenTitle(line.prompt);
  }

  summary(): TranscriptSummary {
    return { ...this.current };
  }
}

export const EMPTY_SUMMARY: TranscriptSummary = Object.freeze({
  messageCount: 0,
  skippedLines: 0,
  title: null,
  firstTimestamp: null,
});

export function parseTranscript(text: string): ParsedTranscript {
  const messages: TranscriptMessage[] = [];
  let skippedLines = 0;
  let firstPrompt: string | null = null;
  let firstTimestamp: string | null = null;
  for (const text_ of text.split('\n')) {
    const line = readTranscriptLine(text_);
    if (line === null) continue;
    if (line.skipped) skippedLines++;
    if (line.timestamp !== null && (firstTimestamp === null || line.timestamp < firstTimestamp)) {
      firstTimestamp = line.timestamp;
    }
    if (line.message) messages.push({ index: messages.length, ...line.message });
    firstPrompt ??= line.prompt;
  }
  return { messages, skippedLines, firstPrompt, firstTimestamp };
}

export function summarizeTranscript(text: string): TranscriptSummary {
  const summarizer = new TranscriptSummarizer();
  for (const line of text.split('\n')) summarizer.add(line);
  return summarizer.summary();
}

/** One line of a byte stream, with the offset just past its newline. */
export interface StreamLine {
  text: string;
  /** Byte offset after the line's newline, counted from the stream's `startOffset`. */
  end: number;
  /** False for a last line that has no newline yet (the CLI may still be writing it). */
  complete: boolean;
}

/**
 * Splits a byte stream into lines, never holding more than one line (cut at `maxLineBytes`,
 * beyond which the line reads as garbage and is skipped).
 */
export async function* streamLines(
  chunks: AsyncIterable<unknown>,
  startOffset = 0,
  maxLineBytes = MAX_LINE_BYTES,
): AsyncGenerator<StreamLine> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let offset = startOffset;
  const text = (last: Buffer) =>
    pendingBytes + last.length > maxLineBytes
      ? OVERSIZED_LINE
      : Buffer.concat([...pending, last]).toString('utf8');
  for await (const chunk of chunks) {
    if (!Buffer.isBuffer(chunk)) throw new Error('The stream yielded something other than bytes');
    let from = 0;
    for (let newline = chunk.indexOf(10); newline >= 0; newline = chunk.indexOf(10, from)) {
      const part = chunk.subarray(from, newline);
      offset += pendingBytes + part.length + 1;
      yield { text: text(part), end: offset, complete: true };
      pending = [];
      pendingBytes = 0;
      from = newline + 1;
    }
    const rest = chunk.subarray(from);
    if (pendingBytes + rest.length <= maxLineBytes) pending.push(rest);
    pendingBytes += rest.length;
  }
  if (pendingBytes > 0) {
    yield { text: text(Buffer.alloc(0)), end: offset + pendingBytes, complete: false };
  }
}

/** A single transcript line longer than this is not read: it stands as garbage (skipped). */
const MAX_LINE_BYTES = 64 * 1024 * 1024;
const OVERSIZED_LINE = '\u0000';

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
  timestamp: string | null,
): Omit<TranscriptMessage, 'index'> | null {
  const uuid = typeof record.uuid === 'string' ? record.uuid : null;
  const message: Omit<TranscriptMessage, 'index'> = { type, uuid, timestamp };
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

/** How far a transcript has been read: its complete lines, so a grown file is read on from there. */
export interface ReadState {
  bytes: number;
  summary: TranscriptSummary;
}

/** A transcript's summary after a read, and where the next read goes on from. */
export interface TranscriptProgress {
  /** The summary a list shows, a torn last line included. */
  summary: TranscriptSummary;
  read: ReadState;
}

/** Where a page of messages starts: a byte offset at a line start, and that message's index. */
export interface MessagePosition {
  byte: number;
  index: number;
}

export interface MessagePage {
  messages: TranscriptMessage[];
  /** Where the next page starts; null on the last one. */
  next: MessagePosition | null;
}

/**
 * Summarizes a whole transcript's bytes, going on from `from` (the first `from.bytes` bytes are
 * skipped: they were summarized before). A last line without its newline counts in the summary
 * shown but is not consumed, so the next read takes it whole.
 */
export async function summarizeFrom(
  content: AsyncIterable<unknown>,
  from: ReadState | null,
): Promise<TranscriptProgress> {
  const complete = new TranscriptSummarizer(from?.summary);
  let bytes = from?.bytes ?? 0;
  let torn: string | null = null;
  for await (const line of streamLines(skipBytes(content, bytes), bytes)) {
    if (!line.complete) {
      torn = line.text;
      break;
    }
    complete.add(line.text);
    bytes = line.end;
  }
  const read: ReadState = { bytes, summary: complete.summary() };
  if (torn === null) return { summary: read.summary, read };
  const shown = new TranscriptSummarizer(read.summary);
  shown.add(torn);
  return { summary: shown.summary(), read };
}

/**
 * Up to `limit` messages of a transcript's bytes from `position` on; the stream is left as soon
 * as the page is known to be full, so a large transcript is never held or read to its end.
 */
export async function readMessagePage(
  content: AsyncIterable<unknown>,
  position: MessagePosition,
  limit: number,
): Promise<MessagePage> {
  const messages: TranscriptMessage[] = [];
  let end = position.byte;
  for await (const line of streamLines(skipBytes(content, position.byte), position.byte)) {
    const message = readTranscriptLine(line.text)?.message;
    if (!message) continue;
    // One message past the page shows that there is a next page, which starts after the last.
    if (messages.length === limit)
      return { messages, next: { byte: end, index: position.index + limit } };
    messages.push({ index: position.index + messages.length, ...message });
    end = line.end;
  }
  return { messages, next: null };
}

/** The stream without its first `count` bytes. */
async function* skipBytes(chunks: AsyncIterable<unknown>, count: number): AsyncGenerator<Buffer> {
  let left = count;
  for await (const chunk of chunks) {
    if (!Buffer.isBuffer(chunk)) throw new Error('The stream yielded something other than bytes');
    if (left >= chunk.length) {
      left -= chunk.length;
      continue;
    }
    yield left > 0 ? chunk.subarray(left) : chunk;
    left = 0;
  }
}

/** One line of a transcript as it is, for copying (a fork): a JSON object with a string `type`. */
export interface TranscriptEntry {
  type: string;
  uuid?: string;
  [key: string]: unknown;
}

/** Every entry of a transcript's bytes, in order; lines that are not such objects are left out. */
export async function readTranscriptEntries(
  content: AsyncIterable<unknown>,
): Promise<TranscriptEntry[]> {
  const entries: TranscriptEntry[] = [];
  for await (const line of streamLines(content)) {
    const record = parseLine(line.text);
    if (record !== null && typeof record.type === 'string') entries.push(record as TranscriptEntry);
  }
  return entries;
}

/**
 * The ids of the conversation messages a fork can end at: those a session's pages show (user,
 * assistant and system lines) that carry a `uuid`, outside subagent side chains.
 */
export function forkableMessageIds(entries: readonly TranscriptEntry[]): Set<string> {
  const ids = new Set<string>();
  for (const entry of entries) {
    if (isMessageType(entry.type) && typeof entry.uuid === 'string' && entry.isSidechain !== true) {
      ids.add(entry.uuid);
    }
  }
  return ids;
}
