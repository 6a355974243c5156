import { HttpStatus, ValidationError, ValidationPipe } from '@nestjs/common';
import { ApiError } from '../errors/api-error';
import { ErrorCode } from '../errors/error-codes';

/** Rejects unknown fields and bad values with 400 VALIDATION_FAILED, one detail line per problem. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: (errors) =>
      new ApiError(HttpStatus.BAD_REQUEST, ErrorCode.VALIDATION_FAILED, 'The request is invalid', {
        details: errors.flatMap((error) => describe(error, '')),
      }),
  });
}

function describe(error: ValidationError, parent: string): string[] {
  const path = parent ? `${parent}.${error.property}` : error.property;
  const own = Object.values(error.constraints ?? {}).map((message) =>
    message.startsWith(error.property)
      ? `${parent ? `${parent}.` : ''}${message}`
      : `${path}: ${message}`,
  );
  return [...own, ...(error.children ?? []).flatMap((child) => describe(child, path))];
}
