// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {ICommunityRegistry} from "../identity/ICommunityRegistry.sol";
import {IMeterHook} from "../identity/IMeterHook.sol";
import {IMeterReadings} from "./IMeterReadings.sol";
import {Roles} from "../lib/Roles.sol";

/// @title MeterReadings
/// @notice Verifies batches of signed meter readings and records interval energy per member
///         (nothing is minted: issue 16, see IMeterReadings).
/// @dev Invariants (see the interface): per meter, intervals strictly increase and registers
///      never decrease (except by an operator's evented reset); booked energy per reading <= one
///      interval of max power.
///      A meter's slot also keeps a 64-bit history: bit k set <=> interval `lastInterval - k`
///      was accepted, so a resubmission within 64 intervals is told `AlreadyRecorded`.
///      Meter copy: once this contract is the registry's meter hook, `_configs` equals the
///      registry's record of every synced meter (the registry calls `syncMeter` in the
///      transaction of every change), so a reading reads it here (one cold slot) instead of
///      calling the registry; a meter never synced is read from the registry as before.
///      `ReadingAccepted` names the member by its position index (in that slot), not the owner's
///      wallet (issue 16: one cold slot less per reading; the owner is the registry's record).
contract MeterReadings is IMeterReadings, IMeterHook, EIP712 {
    /// @inheritdoc IMeterReadings
    string public constant READING_TYPE =
        "Reading(bytes32 meterId,uint32 interval,uint64 importWhTotal,uint64 exportWhTotal)";
    /// @inheritdoc IMeterReadings
    uint32 public constant MIN_READING_DEADLINE_SECONDS = 60;
    /// @inheritdoc IMeterReadings
    uint32 public constant MAX_READING_DEADLINE_SECONDS = 30 days;

    bytes32 private constant _READING_TYPEHASH = keccak256(bytes(READING_TYPE));
    uint32 private constant _HISTORY_BITS = 64;
    /// @dev A member's position lane: import Wh (low 32 bits) and export Wh (high 32 bits).
    uint256 private constant _LANE_MASK = (1 << 64) - 1;
    /// @dev The most Wh a lane half holds: a member's booked energy in one interval, summed over
    ///      its meters (4.29 GWh; a reading that would exceed it is refused as `ImplausiblePower`).
    uint256 private constant _LANE_HALF_MAX = (1 << 32) - 1;

    /// @dev Where a meter's slot stands. `Unset`: nothing stored yet, the registry's registration
    ///      registers apply. `Anchored`: registers set at registration or by a reset, no reading
    ///      since; `lastInterval` is the first interval a reading may be for (not recorded).
    ///      `Read`: `lastInterval` is the last accepted reading.
    enum SlotState {
        Unset,
        Anchored,
        Read
    }

    /// @dev One slot per meter: last (or anchor) interval, both registers, state, history bits.
    struct MeterSlot {
        uint64 importWhTotal;
        uint64 exportWhTotal;
        uint64 history;
        uint32 lastInterval;
        SlotState state;
    }

    /// @dev What a reading needs of a meter, copied from the registry by `syncMeter` (one slot).
    ///      `status` None: never synced (the registry is asked instead).
    ///      One slot: 160 + 2 x 32 + 2 x 8 = 240 bits (solhint's packing heuristic takes the
    ///      imported enum for a full word).
    // solhint-disable-next-line gas-struct-packing
    struct MeterConfig {
        address signer;
        uint32 maxPowerW;
        uint32 memberIndex; // the owner's `_memberIndex` (1-based)
        ICommunityRegistry.MeterStatus status;
        bool ownerActive;
    }

    /// @dev The energy of one accepted reading: booked to its interval, and beyond it.
    struct Energy {
        uint64 importWh;
        uint64 exportWh;
        uint64 unbookedImportWh;
        uint64 unbookedExportWh;
    }

    ICommunityRegistry private immutable _registry;
    uint64 private immutable _marketStart;
    uint32 private immutable _intervalSeconds;

    uint32 private _readingDeadlineSeconds;
    /// @dev Members given a position lane so far (shares a slot with the deadline).
    uint32 private _memberCount;
    mapping(bytes32 meterId => MeterSlot) private _meters;
    mapping(bytes32 meterId => MeterConfig) private _configs;
    mapping(uint32 interval => uint256) private _reportedCount;
    mapping(uint32 interval => bool) private _closed;
    /// @dev 1-based, dense, assigned once per member key (`_indexOf`): where its position lives.
    mapping(address key => uint32 index) private _memberIndex;
    /// @dev `_memberIndex`'s inverse (`memberKeyAt`), written once per member with its index.
    mapping(uint32 index => address key) private _memberKeys;
    /// @dev The positions of an interval, four members per slot: member index i (1-based) lives in
    ///      slot (i - 1) / 4, lane (i - 1) % 4 of 64 bits (import Wh low 32, export Wh high 32).
    ///      Four neighbours share the cost of the slot's first write (issue 16).
    mapping(uint32 interval => mapping(uint256 quad => uint256 lanes)) private _positionSlots;
    mapping(uint32 interval => uint256) private _participantCount;

    /// @param registry_ the community registry (meters, members, roles)
    /// @param marketStart_ unix time of the start of interval 0
    /// @param intervalSeconds_ length of an interval (900 for 15 minutes)
    constructor(
        ICommunityRegistry registry_,
        uint64 marketStart_,
        uint32 intervalSeconds_
    ) EIP712("GridLedger MeterReadings", "1") {
        if (intervalSeconds_ == 0) revert ReadingsInvalidIntervalSeconds(intervalSeconds_);
        _registry = registry_;
        _marketStart = marketStart_;
        _intervalSeconds = intervalSeconds_;
        // One interval, within the bounds `setReadingDeadlineSeconds` keeps.
        uint32 deadline = intervalSeconds_;
        if (deadline < MIN_READING_DEADLINE_SECONDS) deadline = MIN_READING_DEADLINE_SECONDS;
        if (deadline > MAX_READING_DEADLINE_SECONDS) deadline = MAX_READING_DEADLINE_SECONDS;
        _readingDeadlineSeconds = deadline;
    }

    modifier onlyRegistryRole(bytes32 role) {
        if (!_registry.hasRole(role, msg.sender)) {
            revert IAccessControl.AccessControlUnauthorizedAccount(msg.sender, role);
        }
        _;
    }

    // ---------------------------------------------------------------- writes

    /// @inheritdoc IMeterReadings
    function submitReadings(
        SignedReading[] calldata batch
    ) external onlyRegistryRole(Roles.ORACLE) returns (uint256 accepted) {
        uint256 n = batch.length;
        for (uint256 i = 0; i < n; ++i) {
            if (_submit(batch[i])) ++accepted;
        }
    }

    /// @inheritdoc IMeterReadings
    function setReadingDeadlineSeconds(uint32 deadlineSeconds) external onlyRegistryRole(Roles.OPERATOR) {
        if (deadlineSeconds < MIN_READING_DEADLINE_SECONDS || deadlineSeconds > MAX_READING_DEADLINE_SECONDS) {
            revert ReadingsDeadlineOutOfRange(deadlineSeconds, MIN_READING_DEADLINE_SECONDS, MAX_READING_DEADLINE_SECONDS);
        }
        uint32 old = _readingDeadlineSeconds;
        _readingDeadlineSeconds = deadlineSeconds;
        emit ReadingDeadlineChanged(old, deadlineSeconds);
    }

    /// @inheritdoc IMeterReadings
    function resetMeterRegisters(
        bytes32 meterId,
        uint64 importWhTotal,
        uint64 exportWhTotal
    ) external onlyRegistryRole(Roles.OPERATOR) {
        if (_registry.meterOf(meterId).status != ICommunityRegistry.MeterStatus.Active) {
            revert ReadingsMeterNotActive(meterId);
        }
        MeterSlot memory s = _slot(meterId);
        // Readings exist only for ended intervals and anchors are never in the future, so the
        // current interval is at or after `lastInterval`; max() keeps that true regardless.
        uint32 from = currentInterval();
        if (from < s.lastInterval) from = s.lastInterval;
        uint32 shift = from - s.lastInterval;
        uint64 history = shift >= _HISTORY_BITS ? 0 : s.history << shift;
        _meters[meterId] = MeterSlot(importWhTotal, exportWhTotal, history, from, SlotState.Anchored);
        emit MeterRegistersReset(meterId, from, s.importWhTotal, s.exportWhTotal, importWhTotal, exportWhTotal);
    }

    /// @inheritdoc IMeterHook
    function syncMeter(bytes32 meterId) external {
        address hook = _registry.meterHook();
        if (hook != address(this)) revert ReadingsNotMeterHook(hook);
        ICommunityRegistry.Meter memory m = _registry.meterOf(meterId);
        if (m.status == ICommunityRegistry.MeterStatus.None) revert ReadingsMeterUnknown(meterId);
        address key = _registry.memberKeyOf(m.owner);
        bool ownerActive = _registry.isActiveMember(m.owner);
        _configs[meterId] = MeterConfig(m.signer, m.maxPowerW, _indexOf(key), m.status, ownerActive);
        emit MeterSynced(meterId, m.owner, key, m.signer, m.maxPowerW, m.status, ownerActive);
    }

    /// @inheritdoc IMeterReadings
    function closeInterval(uint32 interval) external onlyRegistryRole(Roles.SYSTEM) {
        if (_closed[interval]) return;
        if (!isReady(interval)) {
            revert ReadingsIntervalNotReady(interval, _reportedCount[interval], _registry.activeMeterCount());
        }
        _closed[interval] = true;
        emit IntervalClosed(interval);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IMeterReadings
    function marketStart() external view returns (uint64) {
        return _marketStart;
    }

    /// @inheritdoc IMeterReadings
    function intervalSeconds() external view returns (uint32) {
        return _intervalSeconds;
    }

    /// @inheritdoc IMeterReadings
    function readingDeadlineSeconds() external view returns (uint32) {
        return _readingDeadlineSeconds;
    }

    /// @inheritdoc IMeterReadings
    function currentInterval() public view returns (uint32) {
        if (block.timestamp < _marketStart) return 0;
        return uint32((block.timestamp - _marketStart) / _intervalSeconds);
    }

    /// @inheritdoc IMeterReadings
    function isReady(uint32 interval) public view returns (bool) {
        if (_closed[interval]) return true;
        if (!_hasEnded(interval)) return false;
        if (block.timestamp > _deadline(interval)) return true;
        return _reportedCount[interval] >= _registry.activeMeterCount();
    }

    /// @inheritdoc IMeterReadings
    function isClosed(uint32 interval) external view returns (bool) {
        return _closed[interval];
    }

    /// @inheritdoc IMeterReadings
    function reportedCount(uint32 interval) external view returns (uint256) {
        return _reportedCount[interval];
    }

    /// @inheritdoc IMeterReadings
    function meterState(bytes32 meterId) external view returns (MeterState memory) {
        MeterSlot memory s = _slot(meterId);
        bool hasReading = s.state == SlotState.Read;
        return
            MeterState(
                hasReading ? s.lastInterval : 0,
                s.importWhTotal,
                s.exportWhTotal,
                hasReading,
                hasReading ? s.lastInterval + 1 : s.lastInterval
            );
    }

    /// @inheritdoc IMeterReadings
    function isRecorded(bytes32 meterId, uint32 interval) external view returns (bool) {
        return _isRecorded(_meters[meterId], interval);
    }

    /// @inheritdoc IMeterReadings
    function readingDigest(
        bytes32 meterId,
        uint32 interval,
        uint64 importWhTotal,
        uint64 exportWhTotal
    ) public view returns (bytes32) {
        return
            _hashTypedDataV4(keccak256(abi.encode(_READING_TYPEHASH, meterId, interval, importWhTotal, exportWhTotal)));
    }

    /// @inheritdoc IMeterReadings
    function participantCount(uint32 interval) external view returns (uint256) {
        return _participantCount[interval];
    }

    /// @inheritdoc IMeterReadings
    function positionOf(uint32 interval, address member) external view returns (Position memory) {
        return _positionAt(interval, _memberIndex[member]);
    }

    /// @inheritdoc IMeterReadings
    function positionAt(uint32 interval, uint32 index) external view returns (Position memory) {
        return _positionAt(interval, index);
    }

    /// @inheritdoc IMeterReadings
    function memberIndexOf(address member) external view returns (uint32) {
        return _memberIndex[member];
    }

    /// @inheritdoc IMeterReadings
    function memberKeyAt(uint32 index) external view returns (address) {
        return _memberKeys[index];
    }

    // ---------------------------------------------------------------- internal

    function _hasEnded(uint32 interval) private view returns (bool) {
        return uint256(_marketStart) + (uint256(interval) + 1) * _intervalSeconds <= block.timestamp;
    }

    function _deadline(uint32 interval) private view returns (uint256) {
        return uint256(_marketStart) + (uint256(interval) + 1) * _intervalSeconds + _readingDeadlineSeconds;
    }

    function _intervalOf(uint256 timestamp) private view returns (uint32) {
        if (timestamp < _marketStart) return 0;
        return uint32((timestamp - _marketStart) / _intervalSeconds);
    }

    /// @dev The meter's slot; for a meter never read nor reset, the registers it was registered
    ///      with, anchored at the interval of its registration.
    function _slot(bytes32 meterId) private view returns (MeterSlot memory s) {
        s = _meters[meterId];
        if (s.state == SlotState.Unset) {
            ICommunityRegistry.MeterRegisters memory g = _registry.meterRegistersAtRegistration(meterId);
            s = MeterSlot(g.importWhTotal, g.exportWhTotal, 0, _intervalOf(g.registeredAt), SlotState.Anchored);
        }
    }

    /// @dev The member's position lane: index i (1-based) -> slot (i - 1) / 4, bit offset
    ///      64 x ((i - 1) % 4).
    function _lane(uint32 index) private pure returns (uint256 quad, uint256 shift) {
        // index >= 1 (assigned ones only): no underflow.
        unchecked {
            quad = (uint256(index) - 1) >> 2;
            shift = ((uint256(index) - 1) & 3) << 6;
        }
    }

    /// @dev The position of member index `index` (zero for index 0, which no member has).
    function _positionAt(uint32 interval, uint32 index) private view returns (Position memory p) {
        if (index == 0) return p;
        (uint256 quad, uint256 shift) = _lane(index);
        uint256 lane = (_positionSlots[interval][quad] >> shift) & _LANE_MASK;
        // A lane is two 32-bit halves: the casts take exactly them.
        p = Position(uint32(lane), uint32(lane >> 32));
    }

    /// @dev The member index of `key`, assigned (next free, evented) on first use.
    function _indexOf(address key) private returns (uint32 index) {
        index = _memberIndex[key];
        if (index == 0) {
            index = ++_memberCount;
            _memberIndex[key] = index;
            _memberKeys[index] = key;
            emit MemberIndexAssigned(key, index);
        }
    }

    /// @dev Adds a reading's booked energy to the member's position in `interval`; counts the
    ///      member as a participant on its first energy there. Returns false, booking nothing,
    ///      if either half of the lane would exceed `_LANE_HALF_MAX` (the reading is refused).
    function _book(uint32 interval, uint32 index, Energy memory e) private returns (bool) {
        (uint256 quad, uint256 shift) = _lane(index);
        uint256 word = _positionSlots[interval][quad];
        uint256 lane = (word >> shift) & _LANE_MASK;
        // uint256 sums of values below 2^32 and 2^64: no overflow.
        uint256 importWh = (lane & _LANE_HALF_MAX) + e.importWh;
        uint256 exportWh = (lane >> 32) + e.exportWh;
        if (importWh > _LANE_HALF_MAX || exportWh > _LANE_HALF_MAX) return false;
        if (lane == 0) ++_participantCount[interval];
        _positionSlots[interval][quad] = (word & ~(_LANE_MASK << shift)) | (((exportWh << 32) | importWh) << shift);
        return true;
    }

    function _isRecorded(MeterSlot memory s, uint32 interval) private pure returns (bool) {
        if (s.state == SlotState.Unset || interval > s.lastInterval) return false;
        uint32 age = s.lastInterval - interval;
        if (age >= _HISTORY_BITS) return false;
        return (s.history >> age) & 1 == 1;
    }

    /// @dev Checks one reading; records it and returns true, or emits `ReadingRejected`.
    function _submit(SignedReading calldata r) private returns (bool) {
        (RejectReason reason, MeterConfig memory cfg, address owner) = _check(r);
        if (reason != RejectReason.None) return _reject(r, reason);
        MeterSlot memory s = _slot(r.meterId);
        Energy memory e;
        (reason, e) = _measure(r, s, cfg.maxPowerW);
        if (reason != RejectReason.None) return _reject(r, reason);
        if (owner != address(0)) {
            // Never synced (registered before the hook): the member's index by its key, assigned
            // only once the reading passes. Without one the member has no lane yet, and a first
            // reading that one lane cannot hold is refused before anything is recorded.
            address key = _registry.memberKeyOf(owner);
            cfg.memberIndex = _memberIndex[key];
            if (cfg.memberIndex == 0) {
                if (e.importWh > _LANE_HALF_MAX || e.exportWh > _LANE_HALF_MAX) {
                    return _reject(r, RejectReason.ImplausiblePower);
                }
                cfg.memberIndex = _indexOf(key);
            }
        }

        if (e.importWh != 0 || e.exportWh != 0) {
            // Keyed by the member, not the wallet: a migration between two readings of one
            // interval must not split the member into two positions (issue 14, item 4). A lane
            // that would overflow (a member's meters above 4.29 GWh in one interval) refuses the
            // reading before anything is recorded.
            if (!_book(r.interval, cfg.memberIndex, e)) return _reject(r, RejectReason.ImplausiblePower);
        }
        uint32 shift = r.interval - s.lastInterval;
        uint64 history = shift >= _HISTORY_BITS ? 1 : (s.history << shift) | 1;
        _meters[r.meterId] = MeterSlot(r.importWhTotal, r.exportWhTotal, history, r.interval, SlotState.Read);
        ++_reportedCount[r.interval];
        _emitAccepted(r, cfg.memberIndex, e);
        return true;
    }

    /// @dev The reading's energy against the meter's registers: refused if not after the slot's
    ///      interval, backwards, or above max power x the elapsed intervals; else split into the
    ///      part booked to the reading's interval (at most one interval of max power) and the rest.
    function _measure(
        SignedReading calldata r,
        MeterSlot memory s,
        uint32 maxPowerW
    ) private view returns (RejectReason, Energy memory e) {
        // Intervals a reading may cover: since the last reading, or since the start of the
        // anchor interval (registration, reset), which it may itself be for.
        uint256 elapsedIntervals;
        if (s.state == SlotState.Read) {
            if (r.interval <= s.lastInterval) return (_notAfter(s, r.interval), e);
            elapsedIntervals = r.interval - s.lastInterval;
        } else {
            if (r.interval < s.lastInterval) return (_notAfter(s, r.interval), e);
            elapsedIntervals = uint256(r.interval - s.lastInterval) + 1;
        }
        if (r.importWhTotal < s.importWhTotal || r.exportWhTotal < s.exportWhTotal) {
            return (RejectReason.RegisterWentBackwards, e);
        }
        uint64 importDelta = r.importWhTotal - s.importWhTotal;
        uint64 exportDelta = r.exportWhTotal - s.exportWhTotal;
        // uint256 arithmetic: maxPowerW < 2^32, elapsed seconds < 2^64, no overflow.
        uint256 perIntervalWh = (uint256(maxPowerW) * _intervalSeconds) / 3600;
        uint256 maxWh = (uint256(maxPowerW) * elapsedIntervals * _intervalSeconds) / 3600;
        if (importDelta > maxWh || exportDelta > maxWh) return (RejectReason.ImplausiblePower, e);

        // perIntervalWh < 2^32 * 2^32 / 3600 < 2^64: the casts are exact.
        e.importWh = importDelta > perIntervalWh ? uint64(perIntervalWh) : importDelta;
        e.exportWh = exportDelta > perIntervalWh ? uint64(perIntervalWh) : exportDelta;
        // booked <= delta by construction: no underflow.
        unchecked {
            e.unbookedImportWh = importDelta - e.importWh;
            e.unbookedExportWh = exportDelta - e.exportWh;
        }
        return (RejectReason.None, e);
    }

    /// @dev Why a reading for an interval at or before the slot's is refused.
    function _notAfter(MeterSlot memory s, uint32 interval) private pure returns (RejectReason) {
        return _isRecorded(s, interval) ? RejectReason.AlreadyRecorded : RejectReason.IntervalNotAfterLast;
    }

    /// @dev What a reading needs of its meter: this contract's copy once synced (`owner` zero:
    ///      the member's index is in it), else the registry's record (`owner` set).
    function _config(bytes32 meterId) private view returns (MeterConfig memory cfg, address owner) {
        cfg = _configs[meterId];
        if (cfg.status != ICommunityRegistry.MeterStatus.None) return (cfg, address(0));
        ICommunityRegistry.Meter memory meter = _registry.meterOf(meterId);
        if (meter.status == ICommunityRegistry.MeterStatus.None) return (cfg, address(0));
        owner = meter.owner;
        // memberIndex 0: `_submit` looks it up (or assigns it) once the reading is accepted.
        cfg = MeterConfig(meter.signer, meter.maxPowerW, 0, meter.status, _registry.isActiveMember(owner));
    }

    /// @dev Meter, owner, signature and time checks; the meter's registers are checked in `_submit`.
    function _check(
        SignedReading calldata r
    ) private view returns (RejectReason, MeterConfig memory cfg, address owner) {
        (cfg, owner) = _config(r.meterId);
        if (cfg.status == ICommunityRegistry.MeterStatus.None) return (RejectReason.UnknownMeter, cfg, owner);
        if (cfg.status != ICommunityRegistry.MeterStatus.Active) return (RejectReason.MeterRetired, cfg, owner);
        if (!cfg.ownerActive) return (RejectReason.OwnerNotActive, cfg, owner);

        bytes32 digest = readingDigest(r.meterId, r.interval, r.importWhTotal, r.exportWhTotal);
        (address recovered, ECDSA.RecoverError err, ) = ECDSA.tryRecover(digest, r.r, r.vs);
        if (err != ECDSA.RecoverError.NoError || recovered != cfg.signer) {
            return (RejectReason.BadSignature, cfg, owner);
        }

        MeterSlot memory s = _meters[r.meterId];
        if (s.state != SlotState.Unset && r.interval < s.lastInterval + (s.state == SlotState.Read ? 1 : 0)) {
            return (_notAfter(s, r.interval), cfg, owner);
        }
        if (!_hasEnded(r.interval)) return (RejectReason.IntervalNotEnded, cfg, owner);
        if (_closed[r.interval] || block.timestamp > _deadline(r.interval)) {
            return (RejectReason.IntervalClosed, cfg, owner);
        }
        return (RejectReason.None, cfg, owner);
    }

    function _emitAccepted(SignedReading calldata r, uint32 memberIndex, Energy memory e) private {
        emit ReadingAccepted(
            r.meterId,
            r.interval,
            memberIndex,
            r.importWhTotal,
            r.exportWhTotal,
            e.importWh,
            e.exportWh,
            e.unbookedImportWh,
            e.unbookedExportWh,
            r.r,
            r.vs
        );
    }

    function _reject(SignedReading calldata r, RejectReason reason) private returns (bool) {
        emit ReadingRejected(r.meterId, r.interval, reason);
        return false;
    }
}
