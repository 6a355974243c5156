import { registerDecorator, ValidationArguments } from 'class-validator';

/**
 * The largest `outputSchema`, as JSON. The CLI takes the schema as an argument (`--json-schema`),
 * so it travels in the body of the exec's creation, which the socket proxy reads whole up to
 * 32 KiB (docker/socket-proxy/check-request.lua): escaped again there, it may double.
 */
export const MAX_OUTPUT_SCHEMA_BYTES = 8 * 1024;

/**
 * A JSON Schema the CLI can offer the model as its answer tool: a JSON object of at most
 * `maxBytes` that describes an object (`type: object`), as a tool's input must be. Whether the
 * rest is a valid schema the CLI decides (it refuses to start on an invalid one).
 */
export function IsOutputSchema({ maxBytes }: { maxBytes: number }): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isOutputSchema',
      target: target.constructor,
      propertyName: propertyName as string,
      validator: {
        validate: (value: unknown) => outputSchemaProblem(value, maxBytes) === null,
        defaultMessage: (args?: ValidationArguments) =>
          `${args?.property} ${outputSchemaProblem(args?.value, maxBytes)}`,
      },
    });
}

function outputSchemaProblem(value: unknown, maxBytes: number): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return 'must be a JSON Schema object';
  }
  const size = Buffer.byteLength(JSON.stringify(value), 'utf8');
  if (size > maxBytes) return `is ${size} bytes as JSON; the limit is ${maxBytes}`;
  if ((value as { type?: unknown }).type !== 'object') {
    return 'must describe an object (type: "object"), as the answer tool takes one';
  }
  return null;
}
