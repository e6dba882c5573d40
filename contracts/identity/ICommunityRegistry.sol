// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

/// @title ICommunityRegistry
/// @notice Who belongs to the community (members), which smart meters exist and who owns and
///         signs for them, and who may do what (roles). The registry is the one
///         `AccessControl` instance of GridLedger: every other contract asks it.
/// @dev Invariants:
///      - a meter's owner was an active member when the meter was registered; a member with
///        active meters cannot be removed;
///      - a meter id is never reused, not even after the meter is retired;
///      - a wallet that was ever a member cannot be onboarded again or be a migration target.
interface ICommunityRegistry is IAccessControl {
    /// @notice What a member does in the market. Prosumers own meters that can export; storage
    ///         members (community or household batteries) own a bidirectional meter that imports
    ///         while charging and exports while discharging. The market rule treats every kind alike.
    /// @dev Append new kinds at the end: stored values and events keep their meaning.
    enum MemberKind {
        None,
        Consumer,
        Prosumer,
        Storage
    }

    /// @notice A member's life cycle. `Migrated` and `Removed` are final.
    enum MemberStatus {
        None,
        Active,
        Suspended,
        Removed,
        Migrated
    }

    /// @notice A meter's life cycle. `Retired` is final.
    enum MeterStatus {
        None,
        Active,
        Retired
    }

    /// @notice A member record.
    /// @param kind consumer or prosumer
    /// @param status active, suspended, removed or migrated
    /// @param joinedAt block timestamp of the onboarding (kept across a wallet migration)
    /// @param activeMeters number of active meters the member owns
    /// @param identityHash hash of the off-chain identity (KYC record, contract, address)
    struct Member {
        MemberKind kind;
        MemberStatus status;
        uint64 joinedAt;
        uint32 activeMeters;
        bytes32 identityHash;
    }

    /// @notice A meter record.
    /// @param owner member who owns the meter and receives its energy tokens
    /// @param signer key whose EIP-712 signature makes a reading authentic: the meter's own
    ///        key or the gateway that reads it
    /// @param maxPowerW largest plausible power through the meter, in W (import or export)
    /// @param zone grid zone (feeder, transformer) the meter hangs on
    /// @param status active or retired
    struct Meter {
        address owner;
        address signer;
        uint32 maxPowerW;
        uint16 zone;
        MeterStatus status;
    }

    /// @notice A meter's cumulative registers when it was registered: the starting point the
    ///         first reading is measured from (monotonic, max power since `registeredAt`).
    /// @param importWhTotal imported Wh (OBIS 1.8.0) at registration
    /// @param exportWhTotal exported Wh (OBIS 2.8.0) at registration
    /// @param registeredAt block timestamp of the registration
    struct MeterRegisters {
        uint64 importWhTotal;
        uint64 exportWhTotal;
        uint64 registeredAt;
    }

    // ---------------------------------------------------------------- events

    /// @notice A member joined.
    event MemberOnboarded(address indexed member, MemberKind kind, bytes32 identityHash, uint64 joinedAt);
    /// @notice A member was suspended: no transfers, orders or readings until reinstated.
    event MemberSuspended(address indexed member);
    /// @notice A suspended member was reinstated.
    event MemberReinstated(address indexed member);
    /// @notice A member left the community for good.
    event MemberRemoved(address indexed member);
    /// @notice A member moved to a new wallet; meters, balances and orders followed.
    event MemberMigrated(address indexed oldWallet, address indexed newWallet);
    /// @notice A meter was registered with its starting registers.
    event MeterRegistered(
        bytes32 indexed meterId,
        address indexed owner,
        address signer,
        uint32 maxPowerW,
        uint16 zone,
        uint64 importWhTotal,
        uint64 exportWhTotal
    );
    /// @notice A meter's signer key changed (new gateway, key rotation).
    event MeterSignerRebound(bytes32 indexed meterId, address oldSigner, address newSigner);
    /// @notice A meter's owner changed because its owner migrated to a new wallet.
    event MeterOwnerChanged(bytes32 indexed meterId, address indexed oldOwner, address indexed newOwner);
    /// @notice A meter was retired for good.
    event MeterRetired(bytes32 indexed meterId, address indexed owner);
    /// @notice A contract was added to the list told of wallet migrations.
    event MigrationHookAdded(address indexed hook);
    /// @notice A contract was removed from the list told of wallet migrations.
    event MigrationHookRemoved(address indexed hook);
    /// @notice The contract told of every meter change was set (once, for good).
    event MeterHookSet(address indexed hook);

    // ---------------------------------------------------------------- errors

    /// @notice `account` is the zero address where a real account is required.
    error RegistryInvalidAccount(address account);
    /// @notice `member` is or was already a member (wallets are never reused).
    error RegistryMemberAlreadyExists(address member);
    /// @notice `member` was never onboarded.
    error RegistryMemberUnknown(address member);
    /// @notice `member` is not active (its status is `status`).
    error RegistryMemberNotActive(address member, MemberStatus status);
    /// @notice `member` is not suspended (its status is `status`).
    error RegistryMemberNotSuspended(address member, MemberStatus status);
    /// @notice `member` still owns `activeMeters` active meters; retire them first.
    error RegistryMemberHasActiveMeters(address member, uint32 activeMeters);
    /// @notice `kind` is not a member kind (consumer or prosumer).
    error RegistryInvalidMemberKind(MemberKind kind);
    /// @notice The meter id `meterId` is not usable (zero).
    error RegistryInvalidMeterId(bytes32 meterId);
    /// @notice A meter with id `meterId` exists or existed.
    error RegistryMeterAlreadyExists(bytes32 meterId);
    /// @notice No meter with id `meterId` was ever registered.
    error RegistryMeterUnknown(bytes32 meterId);
    /// @notice The meter `meterId` is retired.
    error RegistryMeterNotActive(bytes32 meterId);
    /// @notice `maxPowerW` is not a plausible meter rating (zero).
    error RegistryInvalidMaxPower(uint32 maxPowerW);
    /// @notice `hook` is already (or not) in the migration hook list.
    error RegistryMigrationHookExists(address hook);
    /// @notice `hook` is not in the migration hook list.
    error RegistryMigrationHookUnknown(address hook);
    /// @notice The meter hook is set already (`current`): it is set once, for good.
    error RegistryMeterHookAlreadySet(address current);

    // ---------------------------------------------------------------- members

    /// @notice Onboard `member` as an active member. Requires `OPERATOR_ROLE`.
    /// @param member the member's wallet; must never have been a member
    /// @param kind consumer or prosumer
    /// @param identityHash hash of the off-chain identity record
    function onboardMember(address member, MemberKind kind, bytes32 identityHash) external;

    /// @notice Suspend an active member. Requires `OPERATOR_ROLE`.
    function suspendMember(address member) external;

    /// @notice Reinstate a suspended member. Requires `OPERATOR_ROLE`. Every migration hook may
    ///         refuse it (`beforeMemberReinstated`): the market does while it collects an interval.
    function reinstateMember(address member) external;

    /// @notice Remove a member for good. Requires `OPERATOR_ROLE`.
    /// @dev The member must own no active meter. Every migration hook is asked first
    ///      (`beforeMemberRemoved`): the market refuses while the member's deposit is locked by
    ///      an interval not yet settled, and otherwise refunds the deposit to the wallet. Token
    ///      balances stay with the wallet but can no longer move: redeem before removal.
    function removeMember(address member) external;

    /// @notice Move a member (active or suspended) to a new wallet after a lost key.
    ///         Requires `OPERATOR_ROLE`.
    /// @dev The member record, its meters, and (through the migration hooks) its token
    ///      balances, deposits and standing orders move to `newWallet`. The old wallet ends
    ///      in status `Migrated` and can never act again.
    /// @param oldWallet the member's current wallet
    /// @param newWallet a wallet that was never a member
    function migrateMember(address oldWallet, address newWallet) external;

    /// @notice Add a contract told of every wallet migration. Requires `DEFAULT_ADMIN_ROLE`.
    function addMigrationHook(address hook) external;

    /// @notice Remove a migration hook. Requires `DEFAULT_ADMIN_ROLE`. A removed hook is told of
    ///         no later change: the market's copy of member records (`onMemberChanged`) would go
    ///         stale, so a market is removed only when it is retired (paused for good).
    function removeMigrationHook(address hook) external;

    /// @notice Set the contract told of every meter change (`IMeterHook.syncMeter`): the
    ///         metering contract, which keeps its own copy of what a reading needs. Requires
    ///         `DEFAULT_ADMIN_ROLE`; set once, for good (`RegistryMeterHookAlreadySet`), so that
    ///         a copy, once taken, is never left behind by a change the hook was not told of.
    /// @dev The registry calls `syncMeter` after `registerMeter`, `rebindMeterSigner` and
    ///      `retireMeter`, and for each meter of the member after `suspendMember`,
    ///      `reinstateMember`, `removeMember` and `migrateMember`. Emits `MeterHookSet`.
    function setMeterHook(address hook) external;

    // ---------------------------------------------------------------- meters

    /// @notice Register a meter owned by an active member, with the registers it shows now.
    ///         Requires `OPERATOR_ROLE`.
    /// @dev The meter's first reading is checked against these registers like any other
    ///      reading (never backwards, at most max power x the time since registration), so a
    ///      first reading cannot set an arbitrary baseline. `MeterReadings.resetMeterRegisters`
    ///      sets new registers later (meter replaced, register reset).
    /// @param meterId unique, non-zero id (for example keccak256 of the equipment id)
    /// @param owner an active member
    /// @param signer the key that signs the meter's readings
    /// @param maxPowerW largest plausible power, in W
    /// @param zone grid zone
    /// @param importWhTotal the meter's imported-Wh register (OBIS 1.8.0) at registration
    /// @param exportWhTotal the meter's exported-Wh register (OBIS 2.8.0) at registration
    function registerMeter(
        bytes32 meterId,
        address owner,
        address signer,
        uint32 maxPowerW,
        uint16 zone,
        uint64 importWhTotal,
        uint64 exportWhTotal
    ) external;

    /// @notice Bind a new signer key to an active meter. Requires `OPERATOR_ROLE`.
    function rebindMeterSigner(bytes32 meterId, address newSigner) external;

    /// @notice Retire an active meter for good. Requires `OPERATOR_ROLE`.
    function retireMeter(bytes32 meterId) external;

    // ---------------------------------------------------------------- views

    /// @notice Whether `account` is a member in status `Active`.
    function isActiveMember(address account) external view returns (bool);

    /// @notice Whether `account` may hold and move GridLedger tokens: an active member or a
    ///         system contract (`SYSTEM_ROLE`).
    function isParticipant(address account) external view returns (bool);

    /// @notice The member record of `account` (all zero when unknown).
    function memberOf(address account) external view returns (Member memory);

    /// @notice The wallet `account` migrated to, or zero.
    function migratedTo(address account) external view returns (address);

    /// @notice The member's stable key: its first wallet, kept across wallet migrations. Every
    ///         wallet the member ever had maps to it; an account that never was a member maps to
    ///         itself. Positions (MeterReadings) and market accounts are keyed by it, so that a
    ///         migration moves nothing there and a member is one party whatever its wallet.
    function memberKeyOf(address wallet) external view returns (address);

    /// @notice The current wallet of the member with key `key` (the key itself if it never
    ///         migrated).
    function walletOf(address key) external view returns (address);

    /// @notice The meter record of `meterId` (all zero when unknown).
    function meterOf(bytes32 meterId) external view returns (Meter memory);

    /// @notice The registers `meterId` was registered with, and when (all zero when unknown).
    function meterRegistersAtRegistration(bytes32 meterId) external view returns (MeterRegisters memory);

    /// @notice The ids of every meter `member` owns (active and retired).
    function metersOf(address member) external view returns (bytes32[] memory);

    /// @notice Number of active (not retired) meters in the community.
    function activeMeterCount() external view returns (uint256);

    /// @notice Number of members in status `Active`.
    function activeMemberCount() external view returns (uint256);

    /// @notice The contracts told of wallet migrations, in call order.
    function migrationHooks() external view returns (address[] memory);

    /// @notice The contract told of every meter change, or zero while none is set.
    function meterHook() external view returns (address);
}
