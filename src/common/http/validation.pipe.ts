import { HttpStatus, ValidationError, ValidationPipe } from '@nestjs/common';
import { ApiError } from '../errors/api-error';
import { ErrorCode } from '../errors/error-codes';

/** Rejects unknown fields and bad values with 400 VALIDATION_FAILED, one detail line per problem. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: (errors) => validationFailed(errors.flatMap((error) => describe(error, ''))),
  });
}

/** The 400 of an invalid input, one detail line per problem (also for checks a DTO cannot make). */
export function validationFailed(details: string[]): ApiError {
  return new ApiError(
    HttpStatus.BAD_REQUEST,
    ErrorCode.VALIDATION_FAILED,
    'The request is invalid',
    {
      details,
    },
  );
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
