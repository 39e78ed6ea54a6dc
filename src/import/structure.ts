// The consortium structure of SPEC §6.1, as the import needs it. Stored in the database by the
// structure import (issue 7); the user-directory validator reads it through this shape.

export type StudyKind = 'primary' | 'affiliated'

export type ConsortiumStructure = {
  /** Study ids, e.g. { adrc: 'primary', dvcid: 'affiliated' }. */
  studies: Record<string, StudyKind>
  /** Data type names, e.g. ['form', 'dicom', 'enrollment-form'] (a name may contain '-'). */
  dataTypes: string[]
  /** Member centres by numeric centre id (adcid): the group name and the studies it takes part in. */
  centres: Record<number, { group: string; studies: string[] }>
  /** The admin group holding the consortium-wide `metadata` project. */
  adminGroup: string
}
