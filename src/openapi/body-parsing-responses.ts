import { OpenAPIObject } from '@nestjs/swagger';
import { ErrorCode } from '../common/errors/error-codes';
import { describeErrors, ErrorCodeList, errorExamples } from '../common/errors/error-examples';
import { ErrorResponseDto } from '../common/errors/error-response.dto';

/** Methods whose requests Fastify reads a JSON body for, whether the route expects one or not. */
const BODY_METHODS = ['post', 'put', 'patch', 'delete'] as const;

const BODY_PARSING_RESPONSES: {
  [S in 400 | 413 | 415]: { codes: ErrorCodeList<S>; note: string };
} = {
  400: {
    codes: [ErrorCode.VALIDATION_FAILED],
    note: 'the body is not valid JSON, or the input is invalid',
  },
  413: { codes: [ErrorCode.PAYLOAD_TOO_LARGE], note: 'the body is over BODY_LIMIT_BYTES' },
  415: { codes: [ErrorCode.UNSUPPORTED_MEDIA_TYPE], note: 'the body is not application/json' },
};

/**
 * Documents what the body parser answers on every route that can receive a body, before any
 * handler runs; a route's own description of the same status stays.
 */
export function addBodyParsingResponses(document: OpenAPIObject): void {
  const schema = { $ref: `#/components/schemas/${ErrorResponseDto.name}` };
  for (const pathItem of Object.values(document.paths)) {
    for (const method of BODY_METHODS) {
      const operation = pathItem[method];
      if (!operation) continue;
      for (const [status, { codes, note }] of Object.entries(BODY_PARSING_RESPONSES)) {
        operation.responses[status] ??= {
          description: describeErrors(codes, note),
          content: { 'application/json': { schema, examples: errorExamples(codes) } },
        };
      }
    }
  }
}
