// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Multicall} from "@openzeppelin/contracts/utils/Multicall.sol";
import {ICommunityRegistry} from "./ICommunityRegistry.sol";
import {IMigrationHook} from "./IMigrationHook.sol";
import {IMeterHook} from "./IMeterHook.sol";
import {Roles} from "../lib/Roles.sol";

/// @title CommunityRegistry
/// @notice Members, meters and roles of a GridLedger community.
///         `multicall` (OpenZeppelin) lets an operator onboard many members and meters in one
///         transaction; each call keeps the caller's roles.
/// @dev Invariants kept here:
///      - `_activeMemberCount` == number of members with status `Active`;
///      - `_activeMeterCount` == number of meters with status `Active`;
///      - `_members[m].activeMeters` == number of active meters whose owner is `m`.
contract CommunityRegistry is ICommunityRegistry, AccessControl, Multicall {
    bytes32 public constant OPERATOR_ROLE = Roles.OPERATOR;
    bytes32 public constant ORACLE_ROLE = Roles.ORACLE;
    bytes32 public constant PAUSER_ROLE = Roles.PAUSER;
    bytes32 public constant ISSUER_ROLE = Roles.ISSUER;
    bytes32 public constant ENERGY_MINTER_ROLE = Roles.ENERGY_MINTER;
    bytes32 public constant ENERGY_RETIRER_ROLE = Roles.ENERGY_RETIRER;
    bytes32 public constant SYSTEM_ROLE = Roles.SYSTEM;

    mapping(address account => Member) private _members;
    mapping(address oldWallet => address newWallet) private _migratedTo;
    /// @dev Written only by migrations: zero means "the wallet is its own key" (resp. "the key is
    ///      its own wallet"), so onboarding costs nothing more.
    mapping(address wallet => address key) private _keyOf;
    mapping(address key => address wallet) private _walletOf;
    mapping(bytes32 meterId => Meter) private _meters;
    mapping(bytes32 meterId => MeterRegisters) private _registersAtRegistration;
    mapping(address member => bytes32[] meterIds) private _meterIds;
    address[] private _migrationHooks;
    /// @dev Told of every change to a meter or its owner's status (set once).
    address private _meterHook;
    uint256 private _activeMemberCount;
    uint256 private _activeMeterCount;

    /// @param admin the community governance account (`DEFAULT_ADMIN_ROLE`)
    constructor(address admin) {
        if (admin == address(0)) revert RegistryInvalidAccount(admin);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ---------------------------------------------------------------- members

    /// @inheritdoc ICommunityRegistry
    function onboardMember(address member, MemberKind kind, bytes32 identityHash) external onlyRole(OPERATOR_ROLE) {
        if (member == address(0)) revert RegistryInvalidAccount(member);
        if (kind == MemberKind.None) revert RegistryInvalidMemberKind(kind);
        if (_members[member].status != MemberStatus.None) revert RegistryMemberAlreadyExists(member);
        uint64 joinedAt = uint64(block.timestamp);
        _members[member] = Member({
            kind: kind,
            status: MemberStatus.Active,
            joinedAt: joinedAt,
            activeMeters: 0,
            identityHash: identityHash
        });
        ++_activeMemberCount;
        emit MemberOnboarded(member, kind, identityHash, joinedAt);
        _memberChanged(member);
    }

    /// @inheritdoc ICommunityRegistry
    function suspendMember(address member) external onlyRole(OPERATOR_ROLE) {
        _requireActive(member);
        _members[member].status = MemberStatus.Suspended;
        --_activeMemberCount;
        emit MemberSuspended(member);
        _syncMetersOf(member);
        _memberChanged(member);
    }

    /// @inheritdoc ICommunityRegistry
    function reinstateMember(address member) external onlyRole(OPERATOR_ROLE) {
        MemberStatus status = _requireKnown(member);
        if (status != MemberStatus.Suspended) revert RegistryMemberNotSuspended(member, status);
        uint256 hooks = _migrationHooks.length;
        for (uint256 i = 0; i < hooks; ++i) {
            IMigrationHook(_migrationHooks[i]).beforeMemberReinstated(member);
        }
        _members[member].status = MemberStatus.Active;
        ++_activeMemberCount;
        emit MemberReinstated(member);
        _syncMetersOf(member);
        _memberChanged(member);
    }

    /// @inheritdoc ICommunityRegistry
    function removeMember(address member) external onlyRole(OPERATOR_ROLE) {
        MemberStatus status = _requireKnown(member);
        if (status != MemberStatus.Active && status != MemberStatus.Suspended) {
            revert RegistryMemberNotActive(member, status);
        }
        uint32 activeMeters = _members[member].activeMeters;
        if (activeMeters != 0) revert RegistryMemberHasActiveMeters(member, activeMeters);
        uint256 hooks = _migrationHooks.length;
        for (uint256 i = 0; i < hooks; ++i) {
            IMigrationHook(_migrationHooks[i]).beforeMemberRemoved(member);
        }
        if (status == MemberStatus.Active) --_activeMemberCount;
        _members[member].status = MemberStatus.Removed;
        emit MemberRemoved(member);
        _syncMetersOf(member);
        _memberChanged(member);
    }

    /// @inheritdoc ICommunityRegistry
    function migrateMember(address oldWallet, address newWallet) external onlyRole(OPERATOR_ROLE) {
        if (newWallet == address(0)) revert RegistryInvalidAccount(newWallet);
        MemberStatus status = _requireKnown(oldWallet);
        if (status != MemberStatus.Active && status != MemberStatus.Suspended) {
            revert RegistryMemberNotActive(oldWallet, status);
        }
        if (_members[newWallet].status != MemberStatus.None) revert RegistryMemberAlreadyExists(newWallet);

        // The record moves whole (status, kind, joinedAt, meter count); the old wallet is final.
        _members[newWallet] = _members[oldWallet];
        _members[oldWallet].status = MemberStatus.Migrated;
        _members[oldWallet].activeMeters = 0;
        _migratedTo[oldWallet] = newWallet;
        address key = memberKeyOf(oldWallet);
        _keyOf[newWallet] = key;
        _walletOf[key] = newWallet;

        bytes32[] storage ids = _meterIds[oldWallet];
        bytes32[] storage newIds = _meterIds[newWallet];
        uint256 n = ids.length;
        for (uint256 i = 0; i < n; ++i) {
            bytes32 meterId = ids[i];
            _meters[meterId].owner = newWallet;
            newIds.push(meterId);
            emit MeterOwnerChanged(meterId, oldWallet, newWallet);
            _syncMeter(meterId);
        }
        delete _meterIds[oldWallet];
        emit MemberMigrated(oldWallet, newWallet);

        uint256 hooks = _migrationHooks.length;
        for (uint256 i = 0; i < hooks; ++i) {
            IMigrationHook(_migrationHooks[i]).onMemberMigrated(oldWallet, newWallet);
        }
        _memberChanged(oldWallet);
        _memberChanged(newWallet);
    }

    /// @inheritdoc ICommunityRegistry
    function addMigrationHook(address hook) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (hook == address(0)) revert RegistryInvalidAccount(hook);
        uint256 n = _migrationHooks.length;
        for (uint256 i = 0; i < n; ++i) {
            if (_migrationHooks[i] == hook) revert RegistryMigrationHookExists(hook);
        }
        _migrationHooks.push(hook);
        emit MigrationHookAdded(hook);
    }

    /// @inheritdoc ICommunityRegistry
    function removeMigrationHook(address hook) external onlyRole(DEFAULT_ADMIN_ROLE) {
        uint256 n = _migrationHooks.length;
        for (uint256 i = 0; i < n; ++i) {
            if (_migrationHooks[i] == hook) {
                // Keep the call order of the remaining hooks.
                for (uint256 j = i; j + 1 < n; ++j) {
                    _migrationHooks[j] = _migrationHooks[j + 1];
                }
                _migrationHooks.pop();
                emit MigrationHookRemoved(hook);
                return;
            }
        }
        revert RegistryMigrationHookUnknown(hook);
    }

    /// @inheritdoc ICommunityRegistry
    function setMeterHook(address hook) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (hook == address(0)) revert RegistryInvalidAccount(hook);
        if (_meterHook != address(0)) revert RegistryMeterHookAlreadySet(_meterHook);
        _meterHook = hook;
        emit MeterHookSet(hook);
    }

    // ---------------------------------------------------------------- meters

    /// @inheritdoc ICommunityRegistry
    function registerMeter(
        bytes32 meterId,
        address owner,
        address signer,
        uint32 maxPowerW,
        uint16 zone,
        uint64 importWhTotal,
        uint64 exportWhTotal
    ) external onlyRole(OPERATOR_ROLE) {
        if (meterId == bytes32(0)) revert RegistryInvalidMeterId(meterId);
        if (_meters[meterId].status != MeterStatus.None) revert RegistryMeterAlreadyExists(meterId);
        _requireActive(owner);
        if (signer == address(0)) revert RegistryInvalidAccount(signer);
        if (maxPowerW == 0) revert RegistryInvalidMaxPower(maxPowerW);
        _meters[meterId] = Meter({
            owner: owner,
            signer: signer,
            maxPowerW: maxPowerW,
            zone: zone,
            status: MeterStatus.Active
        });
        _registersAtRegistration[meterId] = MeterRegisters(importWhTotal, exportWhTotal, uint64(block.timestamp));
        _meterIds[owner].push(meterId);
        ++_members[owner].activeMeters;
        ++_activeMeterCount;
        emit MeterRegistered(meterId, owner, signer, maxPowerW, zone, importWhTotal, exportWhTotal);
        _syncMeter(meterId);
    }

    /// @inheritdoc ICommunityRegistry
    function rebindMeterSigner(bytes32 meterId, address newSigner) external onlyRole(OPERATOR_ROLE) {
        Meter storage meter = _requireActiveMeter(meterId);
        if (newSigner == address(0)) revert RegistryInvalidAccount(newSigner);
        address oldSigner = meter.signer;
        meter.signer = newSigner;
        emit MeterSignerRebound(meterId, oldSigner, newSigner);
        _syncMeter(meterId);
    }

    /// @inheritdoc ICommunityRegistry
    function retireMeter(bytes32 meterId) external onlyRole(OPERATOR_ROLE) {
        Meter storage meter = _requireActiveMeter(meterId);
        meter.status = MeterStatus.Retired;
        address owner = meter.owner;
        --_members[owner].activeMeters;
        --_activeMeterCount;
        emit MeterRetired(meterId, owner);
        _syncMeter(meterId);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc ICommunityRegistry
    function isActiveMember(address account) public view returns (bool) {
        return _members[account].status == MemberStatus.Active;
    }

    /// @inheritdoc ICommunityRegistry
    function isParticipant(address account) external view returns (bool) {
        return _members[account].status == MemberStatus.Active || hasRole(SYSTEM_ROLE, account);
    }

    /// @inheritdoc ICommunityRegistry
    function memberOf(address account) external view returns (Member memory) {
        return _members[account];
    }

    /// @inheritdoc ICommunityRegistry
    function migratedTo(address account) external view returns (address) {
        return _migratedTo[account];
    }

    /// @inheritdoc ICommunityRegistry
    function memberKeyOf(address wallet) public view returns (address) {
        address key = _keyOf[wallet];
        return key == address(0) ? wallet : key;
    }

    /// @inheritdoc ICommunityRegistry
    function walletOf(address key) external view returns (address) {
        address wallet = _walletOf[key];
        return wallet == address(0) ? key : wallet;
    }

    /// @inheritdoc ICommunityRegistry
    function meterOf(bytes32 meterId) external view returns (Meter memory) {
        return _meters[meterId];
    }

    /// @inheritdoc ICommunityRegistry
    function meterRegistersAtRegistration(bytes32 meterId) external view returns (MeterRegisters memory) {
        return _registersAtRegistration[meterId];
    }

    /// @inheritdoc ICommunityRegistry
    function metersOf(address member) external view returns (bytes32[] memory) {
        return _meterIds[member];
    }

    /// @inheritdoc ICommunityRegistry
    function activeMeterCount() external view returns (uint256) {
        return _activeMeterCount;
    }

    /// @inheritdoc ICommunityRegistry
    function activeMemberCount() external view returns (uint256) {
        return _activeMemberCount;
    }

    /// @inheritdoc ICommunityRegistry
    function migrationHooks() external view returns (address[] memory) {
        return _migrationHooks;
    }

    /// @inheritdoc ICommunityRegistry
    function meterHook() external view returns (address) {
        return _meterHook;
    }

    // ---------------------------------------------------------------- internal

    /// @dev Tells the meter hook (if set) that `meterId`'s record or its owner's status changed.
    function _syncMeter(bytes32 meterId) private {
        address hook = _meterHook;
        if (hook != address(0)) IMeterHook(hook).syncMeter(meterId);
    }

    /// @dev Tells every migration hook that `wallet`'s member record changed (`onMemberChanged`).
    function _memberChanged(address wallet) private {
        uint256 hooks = _migrationHooks.length;
        for (uint256 i = 0; i < hooks; ++i) IMigrationHook(_migrationHooks[i]).onMemberChanged(wallet);
    }

    /// @dev `_syncMeter` for every meter `member` owns (active and retired).
    function _syncMetersOf(address member) private {
        if (_meterHook == address(0)) return;
        bytes32[] storage ids = _meterIds[member];
        uint256 n = ids.length;
        for (uint256 i = 0; i < n; ++i) _syncMeter(ids[i]);
    }

    function _requireKnown(address member) private view returns (MemberStatus status) {
        status = _members[member].status;
        if (status == MemberStatus.None) revert RegistryMemberUnknown(member);
    }

    function _requireActive(address member) private view {
        if (member == address(0)) revert RegistryInvalidAccount(member);
        MemberStatus status = _requireKnown(member);
        if (status != MemberStatus.Active) revert RegistryMemberNotActive(member, status);
    }

    function _requireActiveMeter(bytes32 meterId) private view returns (Meter storage meter) {
        meter = _meters[meterId];
        if (meter.status == MeterStatus.None) revert RegistryMeterUnknown(meterId);
        if (meter.status != MeterStatus.Active) revert RegistryMeterNotActive(meterId);
    }
}
