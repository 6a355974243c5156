import { OpenAPIObject } from '@nestjs/swagger';
import {
  describeRequiredScope,
  REQUIRED_SCOPE_EXTENSION,
  RequiredScope,
} from '../common/routes/required-scope.decorator';

/**
 * Says in words, in each operation's description, the scope its `x-required-scope` names, so a
 * reader of Swagger UI or the client's comments sees it too.
 */
export function addScopeDescriptions(document: OpenAPIObject): void {
  for (const pathItem of Object.values(document.paths)) {
    for (const operation of Object.values(pathItem) as { description?: string }[]) {
      const scope = (operation as Record<string, unknown>)[REQUIRED_SCOPE_EXTENSION] as
        RequiredScope | undefined;
      if (!scope) continue;
      const sentence = describeRequiredScope(scope);
      operation.description = operation.description
        ? `${operation.description}\n\n${sentence}`
        : sentence;
    }
  }
}
