/**
 * The metadata vocabulary of the DynamicsApi port: what the connector keeps of an F&O environment's
 * `$metadata` (CSDL) for the entity sets it uses. The streaming reader in
 * `functions/dynamics/metadata-csdl.ts` produces it; the core's field check consumes it.
 * https://docs.oasis-open.org/odata/odata-csdl-xml/v4.01/odata-csdl-xml-v4.01.html
 */

/** One property of an entity type. */
export interface CsdlProperty {
  /**
   * The EDM type as the reference writes it: `Edm.String`, `Edm.Decimal`, … for primitives,
   * `enum:<Name>` for an enum type, the qualified name otherwise (complex types, collections).
   */
  readonly type: string;
  /** Nullable; CSDL's default when the attribute is absent is true. */
  readonly nullable: boolean;
}

/** An entity set with its entity type's key and properties. */
export interface CsdlEntitySet {
  readonly name: string;
  /** The entity type's qualified name (aliases resolved), e.g. `Microsoft.Dynamics.DataEntities.CustomerV3`. */
  readonly entityType: string;
  readonly key: readonly string[];
  readonly fields: Readonly<Record<string, CsdlProperty>>;
}

/** What was kept of one `$metadata` document. */
export interface CsdlModel {
  /** The wanted entity sets the document has, by name. */
  readonly entitySets: Readonly<Record<string, CsdlEntitySet>>;
  /** Members of the enum types the kept properties use (when the document declares them), by enum name. */
  readonly enums: Readonly<Record<string, readonly string[]>>;
}
