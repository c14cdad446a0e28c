// Data-quality flags on a fused vehicle. A bit set keeps them cheap in the 1 Hz hot path and in every stored
// snapshot; names are for people and APIs.

export const QualityFlag = {
  /** A vendor that has a key for this vehicle did not report it in this snapshot. */
  Partial: 1 << 0,
  /** The position was (0,0) "Null Island", out of range or not finite, and was removed. */
  InvalidPosition: 1 << 1,
  SpeedOutOfRange: 1 << 2,
  FuelOutOfRange: 1 << 3,
  DelayOutOfRange: 1 << 4,
  BearingOutOfRange: 1 << 5,
  /** At least one field is older than the freshness age (see the field's source). */
  Stale: 1 << 6,
  /** A device calibration was applied to at least one field. */
  Calibrated: 1 << 7,
  /** Two vendors reported different values for a field; the resolver picked one. */
  Conflict: 1 << 8,
  /** The implied speed between consecutive positions is impossible for this vehicle. */
  ImpossibleJump: 1 << 9,
} as const;

export type QualityFlagName = keyof typeof QualityFlag;

const FLAG_ENTRIES = Object.entries(QualityFlag) as [QualityFlagName, number][];

/** The names of the flags set in `quality`, in declaration order. */
export function qualityFlagNames(quality: number): QualityFlagName[] {
  const names: QualityFlagName[] = [];
  for (const [name, bit] of FLAG_ENTRIES) if ((quality & bit) !== 0) names.push(name);
  return names;
}

export function hasQualityFlag(quality: number, flag: number): boolean {
  return (quality & flag) === flag;
}
