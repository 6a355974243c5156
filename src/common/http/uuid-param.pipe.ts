import { HttpStatus, Injectable, PipeTransform } from '@nestjs/common';
import { ApiError } from '../errors/api-error';
import { ErrorCode } from '../errors/error-codes';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Accepts an `:id` path parameter only when it is a UUID, and lower-cases it (the CLI names its
 * files in lower case). Anything else, `..%2F..%2Fetc` included, is a 400 before a file is named.
 */
@Injectable()
export class UuidParamPipe implements PipeTransform<string, string> {
  transform(id: string): string {
    if (!UUID.test(id)) {
      throw new ApiError(
        HttpStatus.BAD_REQUEST,
        ErrorCode.VALIDATION_FAILED,
        'The id must be a UUID',
        { details: ['id must be a UUID'] },
      );
    }
    return id.toLowerCase();
  }
}
