/** The parts of the contracts the oracle uses (human-readable ABI; matches IMeterReadings / ICommunityRegistry). */
export const METER_READINGS_ABI = [
  "function submitReadings(tuple(bytes32 meterId, uint32 interval, uint64 importWhTotal, uint64 exportWhTotal, bytes32 r, bytes32 vs)[] batch) returns (uint256 accepted)",
  "function isRecorded(bytes32 meterId, uint32 interval) view returns (bool)",
  "function meterState(bytes32 meterId) view returns (tuple(uint32 lastInterval, uint64 importWhTotal, uint64 exportWhTotal, bool hasReading, uint32 nextInterval))",
  "function marketStart() view returns (uint64)",
  "function intervalSeconds() view returns (uint32)",
  "function currentInterval() view returns (uint32)",
  "event ReadingAccepted(bytes32 indexed meterId, uint32 indexed interval, uint32 indexed memberIndex, uint64 importWhTotal, uint64 exportWhTotal, uint64 importWh, uint64 exportWh, uint64 unbookedImportWh, uint64 unbookedExportWh, bytes32 r, bytes32 vs)",
  "event ReadingRejected(bytes32 indexed meterId, uint32 indexed interval, uint8 reason)",
];

export const REGISTRY_ABI = [
  "function meterOf(bytes32 meterId) view returns (tuple(address owner, address signer, uint32 maxPowerW, uint16 zone, uint8 status))",
  "function hasRole(bytes32 role, address account) view returns (bool)",
];

export { REJECT_REASONS } from "../sdk/reject-reasons";

export const REJECT_ALREADY_RECORDED = 1;
