import { OpenAPIObject } from '@nestjs/swagger';
import { ErrorResponseDto } from '../common/errors/error-response.dto';

/** Methods whose requests Fastify reads a JSON body for, whether the route expects one or not. */
const BODY_METHODS = ['post', 'put', 'patch', 'delete'] as const;

const BODY_PARSING_RESPONSES = {
  '400': 'VALIDATION_FAILED: the body is not valid JSON, or the input is invalid',
  '413': 'PAYLOAD_TOO_LARGE: the body is over BODY_LIMIT_BYTES',
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
      for (const [status, description] of Object.entries(BODY_PARSING_RESPONSES)) {
        operation.responses[status] ??= {
          description,
          content: { 'application/json': { schema } },
        };
      }
    }
  }
}
