/**
 * The before/after of audit rows as people read them (the audit log's diff): multivariate options by
 * name, never by internal id; segment-override priorities counted from 1, as the UI and the summaries
 * count; the order of segment overrides as segment names.
 *
 * New rows are written in this form (`auditAllocations`, `auditPriorities`). Rows written before it
 * (`allocations: [{ optionId, percentageAllocation }]`, `segmentIds: [...]`, 0-based `priority`) are
 * turned into it when they are read (`readableAuditValue`), with the names the ids have now.
 */

export interface AllocationLike {
  optionId: number;
  percentageAllocation: number;
}

/** The names `readableAuditValue` needs for a stored row's ids (see `legacyAuditIds`). */
export interface AuditNames {
  /** Option id → the name summaries give it (`optionLabel`). */
  options: ReadonlyMap<number, string>;
  /** Segment id → segment name. */
  segments: ReadonlyMap<number, string>;
}

const REMOVED_OPTION = "a removed variation";
const DELETED_SEGMENT = "a deleted segment";

/**
 * `{ '"green"': 30, '"red"': 20 }`: each option's share by its name (options with the same name are
 * told apart by "(2)", "(3)"…), in bucket order.
 */
export function auditAllocations(allocations: readonly AllocationLike[], names: ReadonlyMap<number, string>): Record<string, number> {
  const named: Record<string, number> = {};
  for (const allocation of allocations) {
    const base = names.get(allocation.optionId) ?? REMOVED_OPTION;
    let name = base;
    for (let n = 2; Object.hasOwn(named, name); n += 1) name = `${base} (${n})`;
    named[name] = allocation.percentageAllocation;
  }
  return named;
}

/** The segment names of an override order, strongest first (position 1 first). */
export function auditPriorities(segmentIds: readonly number[], names: ReadonlyMap<number, string>): string[] {
  return segmentIds.map((segmentId) => names.get(segmentId) ?? DELETED_SEGMENT);
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

const isAllocation = (value: unknown): value is AllocationLike => isRecord(value) && typeof value.optionId === "number" && typeof value.percentageAllocation === "number";

/** A stored list of allocations by option id (old rows); an empty list is not one (nothing to name). */
const isAllocationList = (value: unknown): value is AllocationLike[] => Array.isArray(value) && value.length > 0 && value.every(isAllocation);

const isIdList = (value: unknown): value is number[] => Array.isArray(value) && value.every((item) => typeof item === "number");

/** The option and segment ids an old row's before/after refers to by id (to look their names up). */
export function legacyAuditIds(values: readonly unknown[]): { optionIds: number[]; segmentIds: number[] } {
  const optionIds = new Set<number>();
  const segmentIds = new Set<number>();
  const visit = (value: unknown): void => {
    if (isAllocationList(value)) for (const allocation of value) optionIds.add(allocation.optionId);
    else if (Array.isArray(value)) value.forEach(visit);
    else if (isRecord(value)) {
      if (isIdList(value.segmentIds)) for (const segmentId of value.segmentIds) segmentIds.add(segmentId);
      Object.values(value).forEach(visit);
    }
  };
  values.forEach(visit);
  return { optionIds: [...optionIds], segmentIds: [...segmentIds] };
}

/**
 * A row's before or after in the readable form. Values already in it come back as they are; the
 * forms of old rows are translated:
 * - `allocations: [{ optionId, percentageAllocation }]` (anywhere) → `{ <option name>: percentage }`;
 * - `{ segmentIds }` (a reorder) → `{ priorities: [segment names] }`;
 * - a segment override's `priority` (0-based, with `segmentName` on creations) → `segment` and a
 *   priority counted from 1.
 */
export function readableAuditValue(action: string, value: unknown, names: AuditNames): unknown {
  if (!isRecord(value)) return translate(value, names);
  let record = value;
  if (isIdList(record.segmentIds)) {
    const { segmentIds, ...rest } = record;
    record = { priorities: auditPriorities(segmentIds, names.segments), ...rest };
  }
  // Old segment-override rows stored the database priority (0 = strongest); new ones name the segment.
  if (action.startsWith("segment_override.") && typeof record.priority === "number" && !("segment" in record)) {
    const { segmentName, priority, ...rest } = record;
    record = { ...(typeof segmentName === "string" ? { segment: segmentName } : {}), priority: priority + 1, ...rest };
  }
  return translate(record, names);
}

function translate(value: unknown, names: AuditNames): unknown {
  if (isAllocationList(value)) return auditAllocations(value, names.options);
  if (Array.isArray(value)) return value.map((item) => translate(item, names));
  if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, translate(item, names)]));
  return value;
}
