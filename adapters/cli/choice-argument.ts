import { InvalidArgumentError } from '../../domain/errors.js';

/** Check an option against its allowed values. */
export function choice<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`${name} '${value}' is invalid: use one of ${allowed.join(', ')}`);
  }
  return value as T;
}
