import { HttpStatus } from '@nestjs/common';
import { MANAGED_LABEL } from '../agent/agent-layout';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-codes';
import { ContainerInfo } from '../docker/docker.types';

export function containerExists(name: string): ApiError {
  return new ApiError(
    HttpStatus.CONFLICT,
    ErrorCode.CONTAINER_EXISTS,
    `The container ${name} already exists: start it, or remove it first`,
  );
}

export function containerNotFound(env: string): ApiError {
  return new ApiError(
    HttpStatus.NOT_FOUND,
    ErrorCode.CONTAINER_NOT_FOUND,
    `The environment ${env} has no container to remove`,
  );
}

export function containerNotRunning(name: string): ApiError {
  return new ApiError(
    HttpStatus.CONFLICT,
    ErrorCode.CONTAINER_NOT_RUNNING,
    `The container ${name} is not running: start it first`,
  );
}

export function mcpStatusUnavailable(name: string): ApiError {
  return new ApiError(
    HttpStatus.SERVICE_UNAVAILABLE,
    ErrorCode.CONTAINER_UNAVAILABLE,
    `No Claude Code process in ${name} answered for the MCP status in time`,
  );
}

/** Whether the service made this container (it carries the service's label). */
export function isManaged(info: ContainerInfo): boolean {
  return info.labels[MANAGED_LABEL] === 'true';
}

/**
 * Throws 409 CONTAINER_NOT_MANAGED for a container named like the environment's that the service
 * did not make: it is someone else's, so the service neither uses, re-creates, stops nor removes
 * it.
 */
export function checkManaged(info: ContainerInfo | null): void {
  if (info && !isManaged(info)) {
    throw new ApiError(
      HttpStatus.CONFLICT,
      ErrorCode.CONTAINER_NOT_MANAGED,
      `The container ${info.name} was not created by this service (it lacks the label ${MANAGED_LABEL}=true), which will not adopt it: remove or rename it`,
    );
  }
}
