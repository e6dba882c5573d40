/** `IMeterReadings.RejectReason`, by value: why the contract refused a reading. */
export const REJECT_REASONS = [
  "None",
  "AlreadyRecorded",
  "UnknownMeter",
  "MeterRetired",
  "OwnerNotActive",
  "BadSignature",
  "IntervalNotAfterLast",
  "IntervalNotEnded",
  "IntervalClosed",
  "RegisterWentBackwards",
  "ImplausiblePower",
] as const;
