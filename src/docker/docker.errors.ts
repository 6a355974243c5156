import { HttpStatus } from '@nestjs/common';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-codes';

/**
 * The engine cannot be reached (socket missing, connection refused or reset). With a pool of
 * hosts the message names the one that is down.
 */
export class DockerUnavailableError extends ApiError {
  constructor(host?: string) {
    super(
      HttpStatus.SERVICE_UNAVAILABLE,
      ErrorCode.DOCKER_UNAVAILABLE,
      host === undefined
        ? 'The Docker engine is not reachable; try again shortly'
        : `The Docker engine of host ${host} is not reachable; try again shortly`,
      { headers: { 'Retry-After': '5' } },
    );
  }
}

/** The engine accepted the call but did not finish it within DOCKER_TIMEOUT_MS. */
export class DockerTimeoutError extends ApiError {
  constructor(operation: string) {
    super(
      HttpStatus.GATEWAY_TIMEOUT,
      ErrorCode.DOCKER_TIMEOUT,
      `Docker did not finish in time: ${operation}`,
      { headers: { 'Retry-After': '5' } },
    );
  }
}

/** The engine answered with an error we have no better name for. Its own message is only logged. */
export class DockerOperationError extends ApiError {
  constructor(operation: string) {
    super(HttpStatus.BAD_GATEWAY, ErrorCode.DOCKER_ERROR, `Docker failed to ${operation}`);
  }
}

/** Docker's 404 for the object an operation named. */
export class DockerNotFoundError extends Error {
  constructor(operation: string) {
    super(`Docker found nothing to ${operation}`);
    this.name = 'DockerNotFoundError';
  }
}

/** Docker's 409: the object exists already, or is in a state that forbids the operation. */
export class DockerConflictError extends Error {
  constructor(operation: string) {
    super(`Docker refused to ${operation}: conflict`);
    this.name = 'DockerConflictError';
  }
}
