import { Transform } from 'class-transformer';

/**
 * Lower-cases a string field before validation. Session ids are compared in lower case, the case
 * the CLI names its transcripts in, so `ABC…` and `abc…` are one session everywhere.
 */
export const LowerCase = (): PropertyDecorator =>
  Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' ? value.toLowerCase() : value,
  );
