/** Largest `serial` (int4) id: a larger one names no row (and would make PostgreSQL fail the query). */
export const MAX_SERIAL_ID = 2_147_483_647;
