/**
 * A jsonb column that returns what PostgreSQL returned. node-postgres already decodes jsonb, but
 * drizzle's own `jsonb` runs `JSON.parse` again on any string it gets back, so a stored text value
 * that happens to be JSON (`'{"colour":"blue"}'`, `"42"`, `"true"`) would come back as an object,
 * a number or a boolean. Flag values and traits are typed, so they must round-trip exactly.
 */
import { customType } from "drizzle-orm/pg-core";

export const jsonb = customType<{ data: unknown; driverData: unknown }>({
  dataType() {
    return "jsonb";
  },
  toDriver(value) {
    return JSON.stringify(value);
  },
  fromDriver(value) {
    return value;
  },
});
