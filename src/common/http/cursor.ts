import { HttpStatus } from '@nestjs/common';
import { ApiError } from '../errors/api-error';
import { ErrorCode } from '../errors/error-codes';

/**
 * Opaque page cursors: base64url JSON that only this service reads. A cursor that does not
 * decode to what `isValid` expects is a 400.
 */
export function encodeCursor(value: object): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

export function decodeCursor<T>(cursor: string, isValid: (value: unknown) => value is T): T {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  if (!isValid(value)) {
    throw new ApiError(
      HttpStatus.BAD_REQUEST,
      ErrorCode.VALIDATION_FAILED,
      'The cursor is invalid',
      {
        details: ['cursor must be a nextCursor this API returned'],
      },
    );
  }
  return value;
}

/** Where a newest-first list stopped: the last item's creation time and id. */
export interface CreatedAtCursor {
  createdAt: string;
  id: string;
}

function isCreatedAtCursor(value: unknown): value is CreatedAtCursor {
  const cursor = value as Partial<CreatedAtCursor> | null;
  return typeof cursor?.createdAt === 'string' && typeof cursor.id === 'string';
}

/**
 * One page of a list ordered by (createdAt, id) newest first: `read` is asked for one item more
 * than the page holds, which tells whether a next page exists.
 */
export async function pageNewestFirst<T extends CreatedAtCursor, D>(
  query: { limit?: number; cursor?: string },
  read: (before: CreatedAtCursor | undefined, limit: number) => Promise<T[]>,
  toDto: (item: T) => D | Promise<D>,
): Promise<{ items: D[]; nextCursor: string | null }> {
  const limit = query.limit ?? 20;
  const before = query.cursor ? decodeCursor(query.cursor, isCreatedAtCursor) : undefined;
  const records = await read(before, limit + 1);
  const page = records.slice(0, limit);
  const last = page.at(-1);
  return {
    items: await Promise.all(page.map(toDto)),
    nextCursor:
      records.length > limit && last
        ? encodeCursor({ createdAt: last.createdAt, id: last.id } satisfies CreatedAtCursor)
        : null,
  };
}
