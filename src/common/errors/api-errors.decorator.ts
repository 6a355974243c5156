import { ApiResponse } from '@nestjs/swagger';
import { ErrorCode } from './error-codes';
import { ErrorResponseDto } from './error-response.dto';
import { describeErrors, ErrorCodeList, errorExamples, ErrorStatus } from './error-examples';

type CodesByStatus = Partial<Record<number, readonly ErrorCode[]>>;

/** The codes a handler documents through `ApiErrors`, so that its class can add the missing ones. */
const HANDLER_ERRORS = Symbol('apiErrors');

function handlerErrors(handler: object): CodesByStatus {
  return (Reflect.getMetadata(HANDLER_ERRORS, handler) as CodesByStatus | undefined) ?? {};
}

function documentErrors(
  status: number,
  codes: readonly ErrorCode[],
  note?: string,
): ClassDecorator & MethodDecorator {
  return ApiResponse({
    status,
    description: describeErrors(codes, note),
    type: ErrorResponseDto,
    examples: errorExamples(codes),
  });
}

/**
 * Documents the error replies of a route, or of every route of a controller: per status, the
 * codes it can carry (a code only under its own status), a description naming them (plus an
 * optional note), and one example reply per code, named by the code.
 *
 * @nestjs/swagger lets a method's response replace its class's of the same status, so on a class
 * the codes a handler's response of that status lacks are added to it, as a paragraph of its own.
 */
export function ApiErrors<S extends ErrorStatus>(
  codes: { [K in S]: ErrorCodeList<K> },
  notes: Partial<Record<S, string>> = {},
): ClassDecorator & MethodDecorator {
  const statuses = Object.keys(codes).map(Number) as S[];

  return (target: object, propertyKey?: string | symbol, descriptor?: PropertyDescriptor) => {
    if (propertyKey !== undefined && descriptor) {
      const handler = descriptor.value as object;
      const documented = handlerErrors(handler);
      for (const status of statuses) {
        documentErrors(status, codes[status], notes[status])(target, propertyKey, descriptor);
        documented[status] = [...(documented[status] ?? []), ...codes[status]];
      }
      Reflect.defineMetadata(HANDLER_ERRORS, documented, handler);
      return;
    }
    for (const status of statuses) {
      documentErrors(status, codes[status], notes[status])(target as () => void);
    }
    const prototype = (target as { prototype: object }).prototype;
    for (const name of Object.getOwnPropertyNames(prototype)) {
      const method = Object.getOwnPropertyDescriptor(prototype, name);
      if (typeof method?.value !== 'function') continue;
      const documented = handlerErrors(method.value as object);
      for (const status of statuses) {
        const own = documented[status];
        const missing = codes[status].filter((code) => !own?.includes(code));
        if (own && missing.length > 0) {
          documentErrors(status, missing, notes[status])(prototype, name, method);
        }
      }
    }
  };
}
