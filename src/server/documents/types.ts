/**
 * What the document store keeps beside each Flagsmith environment document (engine/document.ts).
 */
import type { DocIdentityOverride, FeatureStateValue } from "@/server/engine/document";

/**
 * What the SDK API serves beyond the environment document (Flagsmith's `/flags/` objects carry
 * feature metadata and row ids that the document leaves out). Stored beside the document.
 */
export interface SdkExtras {
  environmentId: number;
  /** `environments.updated_at` as Unix seconds with microseconds (X-Flagsmith-Document-Updated-At). */
  updatedAtEpoch: number;
  /** The project publishes flagd documents (the flagd endpoints answer 404 otherwise). */
  flagdEnabled: boolean;
  /**
   * Identity overrides when the environment keeps them out of the document
   * (`use_identity_overrides_in_local_eval` false): remote evaluation still applies them, as Flagsmith does.
   */
  identityOverrides?: DocIdentityOverride[];
  features: Record<
    string,
    {
      /** Row id of the environment default state (`id` of flag objects). */
      stateId: number;
      createdDate: string;
      description: string | null;
      initialValue: FeatureStateValue;
      defaultEnabled: boolean;
    }
  >;
}
