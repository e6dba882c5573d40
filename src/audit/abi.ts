/**
 * The published interfaces the auditor reads, as human-readable ABI fragments. They are copied
 * from the NatSpec interfaces (`ICommunityRegistry`, `IEnergyToken`/`ICommunityCredit`,
 * `IMeterReadings`, `IEnergyMarket`, `OrderBook` events emitted through the market) and not
 * taken from the deployment records: an auditor trusts the interface, not the deployer's files.
 */
import { Interface } from "ethers";

export const REGISTRY_EVENTS = [
  "event MemberOnboarded(address indexed member, uint8 kind, bytes32 identityHash, uint64 joinedAt)",
  "event MemberSuspended(address indexed member)",
  "event MemberReinstated(address indexed member)",
  "event MemberRemoved(address indexed member)",
  "event MemberMigrated(address indexed oldWallet, address indexed newWallet)",
  "event MeterRegistered(bytes32 indexed meterId, address indexed owner, address signer, uint32 maxPowerW, uint16 zone, uint64 importWhTotal, uint64 exportWhTotal)",
  "event MeterSignerRebound(bytes32 indexed meterId, address oldSigner, address newSigner)",
  "event MeterOwnerChanged(bytes32 indexed meterId, address indexed oldOwner, address indexed newOwner)",
  "event MeterRetired(bytes32 indexed meterId, address indexed owner)",
  "event MigrationHookAdded(address indexed hook)",
  "event MigrationHookRemoved(address indexed hook)",
  "event RoleGranted(bytes32 indexed role, address indexed account, address indexed sender)",
  "event RoleRevoked(bytes32 indexed role, address indexed account, address indexed sender)",
  "event RoleAdminChanged(bytes32 indexed role, bytes32 indexed previousAdminRole, bytes32 indexed newAdminRole)",
];

export const TOKEN_EVENTS = [
  "event Transfer(address indexed from, address indexed to, uint256 value)",
  "event Approval(address indexed owner, address indexed spender, uint256 value)",
  "event Paused(address account)",
  "event Unpaused(address account)",
  "event MembersOnlyChanged(bool membersOnly)",
];

export const READINGS_EVENTS = [
  "event ReadingAccepted(bytes32 indexed meterId, uint32 indexed interval, uint32 indexed memberIndex, uint64 importWhTotal, uint64 exportWhTotal, uint64 importWh, uint64 exportWh, uint64 unbookedImportWh, uint64 unbookedExportWh, bytes32 r, bytes32 vs)",
  "event MemberIndexAssigned(address indexed key, uint32 indexed index)",
  "event ReadingRejected(bytes32 indexed meterId, uint32 indexed interval, uint8 reason)",
  "event ReadingDeadlineChanged(uint32 oldDeadlineSeconds, uint32 newDeadlineSeconds)",
  "event IntervalClosed(uint32 indexed interval)",
  "event MeterRegistersReset(bytes32 indexed meterId, uint32 fromInterval, uint64 oldImportWhTotal, uint64 oldExportWhTotal, uint64 importWhTotal, uint64 exportWhTotal)",
];

export const READINGS_CALLS = [
  "function submitReadings(tuple(bytes32 meterId, uint32 interval, uint64 importWhTotal, uint64 exportWhTotal, bytes32 r, bytes32 vs)[] batch) returns (uint256 accepted)",
  "function marketStart() view returns (uint64)",
  "function intervalSeconds() view returns (uint32)",
  "function meterState(bytes32 meterId) view returns (tuple(uint32 lastInterval, uint64 importWhTotal, uint64 exportWhTotal, bool hasReading, uint32 nextInterval))",
];

/** Public views the auditor compares its rebuilt state with (drift checks). */
export const TOKEN_VIEWS = ["function balanceOf(address account) view returns (uint256)", "function totalSupply() view returns (uint256)"];
export const MARKET_VIEWS = [
  "function depositOf(address member) view returns (uint256)",
  "function orderOf(address member, uint8 side) view returns (tuple(uint64 orderId, uint64 limitPricePerKWh, uint64 capWhPerInterval, uint32 firstInterval, uint32 lastInterval))",
  "function nextInterval() view returns (uint32)",
  "function intervalState(uint32 interval) view returns (tuple(uint8 phase, uint32 collected, uint32 participants, uint32 pagesCollected, uint32 pagesSettled, uint64 pricePerKWh, uint64 matchedWh, uint64 retailPerKWh, uint64 feedInPerKWh))",
];

export const MARKET_EVENTS = [
  "event Deposited(address indexed member, uint256 amount)",
  "event Withdrawn(address indexed member, uint256 amount)",
  "event OrderPlaced(address indexed member, uint8 indexed side, uint64 indexed orderId, uint64 limitPricePerKWh, uint64 capWhPerInterval, uint32 firstInterval, uint32 lastInterval, uint32 fromInterval)",
  "event OrderCancelled(address indexed member, uint8 indexed side, uint64 indexed orderId, uint32 fromInterval)",
  "event SurplusRecovered(address indexed to, uint256 amount)",
  "event TariffScheduled(uint32 indexed fromInterval, uint64 retailPerKWh, uint64 feedInPerKWh)",
  "event AccountMigrated(address indexed oldWallet, address indexed newWallet, uint256 deposit)",
  "event EntryCollected(uint32 indexed interval, address indexed member, uint8 tag, uint64 orderId, uint64 qtyWh, uint64 pricePerKWh, uint64 importWh, uint64 exportWh, uint256 availableCredits)",
  "event PageCollected(uint32 indexed interval, uint32 page, uint32 collected, bytes32 checkpoint)",
  "event CollectionRestarted(uint32 indexed interval, uint32 restarts, address indexed by, address participant)",
  "event IntervalCleared(uint32 indexed interval, uint64 pricePerKWh, uint64 matchedWh, uint64 retailPerKWh, uint64 feedInPerKWh, uint32 participants)",
  "event Traded(uint32 indexed interval, address indexed seller, address indexed buyer, uint64 wh, uint64 pricePerKWh, uint256 credits)",
  "event MemberSettled(uint32 indexed interval, address indexed member, uint64 selfSupplyWh, uint64 soldWh, uint64 boughtWh, uint64 gridExportWh, uint64 gridImportWh, uint256 paidCredits, uint256 receivedCredits)",
  "event PageSettled(uint32 indexed interval, uint32 page)",
  "event IntervalSettled(uint32 indexed interval)",
  "event Paused(address account)",
  "event Unpaused(address account)",
];

/** The contracts the auditor indexes, by role. */
export type ContractKey = "registry" | "energy" | "credit" | "readings" | "market";
export const CONTRACT_KEYS: ContractKey[] = ["registry", "energy", "credit", "readings", "market"];

/** Deployment record names of the contracts. */
export const DEPLOYMENT_NAMES: Record<ContractKey, string> = {
  registry: "CommunityRegistry",
  energy: "EnergyToken",
  credit: "CommunityCredit",
  readings: "MeterReadings",
  market: "EnergyMarket",
};

export const INTERFACES: Record<ContractKey, Interface> = {
  registry: new Interface(REGISTRY_EVENTS),
  energy: new Interface([...TOKEN_EVENTS, ...TOKEN_VIEWS]),
  credit: new Interface([...TOKEN_EVENTS, ...TOKEN_VIEWS]),
  readings: new Interface([...READINGS_EVENTS, ...READINGS_CALLS]),
  market: new Interface([...MARKET_EVENTS, ...MARKET_VIEWS]),
};

export { REJECT_REASONS } from "../sdk/reject-reasons";

export const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";
